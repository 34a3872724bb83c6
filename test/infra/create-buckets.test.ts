// infra/create-buckets.ts, the compose bucket set-up, against a real S3-protocol server (s3rver),
// configured the way docker-compose.yml configures it: the pipeline's S3 environment.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { s3Env, useS3 } from '../harness/s3-server.ts';
import { uniqueName } from '../harness/unique-name.ts';

const script = fileURLToPath(new URL('../../infra/create-buckets.ts', import.meta.url));

function createBuckets(env: Record<string, string>, buckets: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', script, ...buckets], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
}

describe('infra/create-buckets.ts', () => {
  const s3 = useS3();

  test('creates the missing buckets, and a second run finds them and succeeds', async () => {
    const buckets = [uniqueName('images'), uniqueName('results')];
    const first = createBuckets(s3Env(s3), buckets);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stderr.match(/ created at /g)?.length, 2, first.stderr);
    const client = new S3Client({
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    try {
      for (const bucket of buckets) await client.send(new HeadBucketCommand({ Bucket: bucket }));
    } finally {
      client.destroy();
    }
    const second = createBuckets(s3Env(s3), buckets);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(second.stderr.match(/ exists at /g)?.length, 2, second.stderr);
  });

  test('an unreachable S3 server exits 1 naming the endpoint and what to check', () => {
    const result = createBuckets({ ...s3Env(s3), S3_ENDPOINT: 'http://127.0.0.1:9' }, [uniqueName('images')]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /cannot set up the buckets at http:\/\/127\.0\.0\.1:9\/?.*check S3_ENDPOINT/);
  });
});
