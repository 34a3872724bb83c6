// Producer memory with a real Redis, two ways:
//   - a synthetic listing of N objects (default 1,000,000, in pages of 1000, one in four not an
//     image) goes through select -> shard -> enqueueShards into BullMQ;
//   - `parquet <file>`: a Parquet URL list goes through the whole of `submit` (producer/submit.ts
//     submitRun: both passes over the list, roots, carried columns, repeated URLs, the run record),
//     with its output in a temporary folder.
// The process RSS and heap are sampled as it goes. Not run in CI (minutes, and it needs Redis).
//
//   REDIS_URL=redis://127.0.0.1:6379 node --import tsx bench/producer-memory.ts [objects]
//   REDIS_URL=redis://127.0.0.1:6379 node --import tsx bench/producer-memory.ts parquet list.parquet
//
// It uses a fresh queue prefix and obliterates the queue and the run record at the end. Expect
// flat RSS: memory is bounded by one addBulk group (16 shards), not by N. Redis itself grows by
// the queued payloads (~100 bytes per image), which is the point of keeping URIs, not bytes.
// Without --expose-gc the peaks include garbage V8 has not collected yet (heap peaks grow with N
// a little); with `node --expose-gc` and a gc() before each sample, retained heap stays flat (measured
// here: 17.9 MB at 80k and at 160k images, +10 MB RSS for 300k objects).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { enqueueShards } from '../producer/enqueue-shards.ts';
import { selectImages } from '../producer/select-images.ts';
import { shardListing } from '../producer/shard-listing.ts';
import { submitRun } from '../producer/submit.ts';
import { configFromEnv, SHARD_QUEUE_NAME } from '../shared/config.ts';
import { jobOptions } from '../shared/queue/job-options.ts';
import { connectRedis } from '../shared/queue/redis-connection.ts';
import { RunRegistry } from '../shared/run/run-registry.ts';
import type { ObjectInfo } from '../shared/storage/object-store.ts';

const parquetList = process.argv[2] === 'parquet' ? process.argv[3] : undefined;
const objects = parquetList === undefined ? Number(process.argv[2] ?? 1_000_000) : 0;
const prefix = `bench-${randomBytes(4).toString('hex')}`;
const config = configFromEnv({
  ...process.env,
  QUEUE_PREFIX: prefix,
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
});

async function* syntheticListing(count: number): AsyncGenerator<ObjectInfo[]> {
  for (let start = 0; start < count; start += 1000) {
    const page: ObjectInfo[] = [];
    for (let i = start; i < Math.min(start + 1000, count); i += 1) {
      const key = `photos/${String(i).padStart(8, '0')}${i % 4 === 3 ? '.json' : '.jpg'}`;
      page.push({ uri: `s3://bench-bucket/${key}`, size: 100_000 + i, etag: randomBytes(16).toString('hex') });
    }
    yield page;
  }
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const redis = connectRedis(config.REDIS_URL ?? '');
const queue = new Queue(SHARD_QUEUE_NAME, { connection: redis, prefix });
const registry = new RunRegistry(redis, prefix);
const start = process.memoryUsage();
let peakRss = start.rss;
let peakHeap = start.heapUsed;
const startedAt = Date.now();
/** One line per 320 shards (the wrapper, producer-memory-run.ts, reads them). */
function sample(progress: { images: number; shards: number }): void {
  const now = process.memoryUsage();
  peakRss = Math.max(peakRss, now.rss);
  peakHeap = Math.max(peakHeap, now.heapUsed);
  if (progress.shards % 320 === 0)
    console.log(`${progress.images} images, rss ${mb(now.rss)} MB, heap ${mb(now.heapUsed)} MB`);
}

/** The Parquet list through submit, as `resnet-batch submit list.parquet` runs it. */
async function submitParquet(
  list: string,
): Promise<{ objects: number; images: number; shards: number; enqueued: number }> {
  const output = await mkdtemp(join(tmpdir(), 'producer-memory-out-'));
  let listed = 0;
  let lastShards = -1;
  try {
    const result = await submitRun(
      { input: list, output, run: 'bench-parquet', shardSize: 256 },
      {
        config,
        onProgress: (progress) => {
          listed = progress.listed;
          if (progress.shards === lastShards) return;
          lastShards = progress.shards;
          sample(progress);
        },
      },
    );
    return { objects: listed, images: result.images, shards: result.shards, enqueued: result.enqueued };
  } finally {
    await rm(output, { recursive: true, force: true });
  }
}

try {
  if (parquetList !== undefined) {
    const totals = await submitParquet(parquetList);
    const seconds = (Date.now() - startedAt) / 1000;
    console.log(
      `${totals.objects} objects -> ${totals.images} images in ${totals.shards} shards, ${totals.enqueued} enqueued in ${seconds.toFixed(1)} s`,
    );
  } else {
    const totals = await enqueueShards(shardListing(selectImages(syntheticListing(objects)), 256), {
      queue,
      redis,
      registry,
      run: {
        run: 'bench',
        output: 's3://bench-bucket/out',
        model: 'file:///models/resnet50',
        inputRoots: ['s3://bench-bucket/photos/'],
        normalize: false,
      },
      jobOptions: jobOptions(config),
      onGroup: sample,
    });
    const seconds = (Date.now() - startedAt) / 1000;
    console.log(
      `${objects} objects -> ${totals.images} images in ${totals.shards} shards, ${totals.enqueued} enqueued in ${seconds.toFixed(1)} s`,
    );
  }
  console.log(
    `rss ${mb(start.rss)} -> peak ${mb(peakRss)} MB (+${mb(peakRss - start.rss)}), heap ${mb(start.heapUsed)} -> peak ${mb(peakHeap)} MB`,
  );
} finally {
  await queue.obliterate({ force: true });
  await queue.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
}
