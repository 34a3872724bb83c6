import { openStore } from '../shared/storage/open-store.ts';
import { startRedis } from '../test/harness/redis-server.ts';
import { s3Env, s3StorageConfig, startS3 } from '../test/harness/s3-server.ts';
import type { BenchImage } from './bench-images.ts';
import type { BenchServices } from './end-to-end.ts';

/** A real Redis and a real S3-protocol server (test/harness), with the bench images uploaded. */
export async function startBenchServices(
  images: readonly BenchImage[],
): Promise<BenchServices & { stop(): Promise<void> }> {
  const [redis, s3] = await Promise.all([startRedis(), startS3()]);
  await s3.createBucket('bench');
  const storage = s3StorageConfig(s3);
  const input = 's3://bench/photos/';
  const store = openStore(input, storage);
  try {
    for (let start = 0; start < images.length; start += 16) {
      await Promise.all(
        images.slice(start, start + 16).map((image) => store.write(`${input}${image.name}`, image.bytes)),
      );
    }
  } finally {
    await store.close();
  }
  return {
    redisUrl: redis.url,
    s3Env: s3Env(s3),
    storage,
    input,
    output: 's3://bench/out/',
    stop: async () => void (await Promise.all([redis.stop(), s3.stop()])),
  };
}
