// The bucket set-up of docker-compose.yml (service s3-init): creates each bucket named on the
// command line unless it exists, then exits 0. It goes through the pipeline's own S3 settings
// (S3_ENDPOINT, S3_FORCE_PATH_STYLE, AWS_* credentials; shared/storage/storage-config.ts), so a
// success also proves that the workers' endpoint and credentials work before any worker starts.
//
//   node --import tsx infra/create-buckets.ts images results
import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { describeError } from '../shared/errors.ts';
import { createS3Client } from '../shared/storage/s3/s3-client.ts';
import { storageConfigFromEnv } from '../shared/storage/storage-config.ts';

const buckets = process.argv.slice(2);
if (buckets.length === 0) {
  console.error('usage: create-buckets <bucket>...');
  process.exit(1);
}
const config = storageConfigFromEnv().s3;
const client = createS3Client(config);
try {
  for (const bucket of buckets) {
    const exists = await client.send(new HeadBucketCommand({ Bucket: bucket })).then(
      () => true,
      (error: { $metadata?: { httpStatusCode?: number } }) => {
        if (error.$metadata?.httpStatusCode === 404) return false;
        throw error;
      },
    );
    if (!exists) await client.send(new CreateBucketCommand({ Bucket: bucket }));
    console.error(`resnet-batch: bucket ${bucket} ${exists ? 'exists' : 'created'} at ${config.endpoint ?? 'AWS S3'}`);
  }
} catch (error) {
  console.error(
    `resnet-batch: cannot set up the buckets at ${config.endpoint ?? 'AWS S3'} (${describeError(error)}); check S3_ENDPOINT and the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY the S3 server was started with`,
  );
  process.exitCode = 1;
} finally {
  client.destroy();
}
