// Redis cost of a shard, for the sizing section of docs/OPERATIONS.md:
//   1. memory: N shards of K images (URIs like s3://bucket/images/000123.jpg, real payload shape)
//      go through the producer's enqueueShards into a real Redis; bytes per queued shard is the
//      INFO memory used_memory delta / N, and MEMORY USAGE of one job hash is printed beside it;
//   2. commands: the same shards are consumed by a BullMQ Worker configured like ShardWorker,
//      whose processor makes the run-registry calls and progress updates ShardWorker makes for a
//      K-image shard (no inference: Redis does not see it), and INFO commandstats deltas / N give
//      the Redis commands per shard.
//
//   node --import tsx bench/redis-bytes-per-shard.ts [shards=1000] [imagesPerShard=256] [batchSize=32] [captionBytes=0]
//
// captionBytes > 0 gives every image a carried `caption` field of that many bytes (the extra
// fields of a .jsonl manifest line travel in the shard job, see producer/carried-fields.ts).
//
// Starts its own redis-server (so that nothing else moves used_memory) unless REDIS_URL is set.
// A few seconds for the defaults.
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { enqueueShards } from '../producer/enqueue-shards.ts';
import type { Shard } from '../producer/shard-listing.ts';
import { configFromEnv, SHARD_QUEUE_NAME } from '../shared/config.ts';
import { jobOptions } from '../shared/queue/job-options.ts';
import { connectRedis } from '../shared/queue/redis-connection.ts';
import { RunRegistry } from '../shared/run/run-registry.ts';
import { startRedis } from '../test/harness/redis-server.ts';

const shardCount = Number(process.argv[2] ?? 1000);
const imagesPerShard = Number(process.argv[3] ?? 256);
const batchSize = Number(process.argv[4] ?? 32);
const captionBytes = Number(process.argv[5] ?? 0);
const RUN = 'bench-run';

async function* shards(): AsyncGenerator<Shard> {
  for (let index = 0; index < shardCount; index += 1) {
    const images = Array.from({ length: imagesPerShard }, (_, i) => {
      const n = index * imagesPerShard + i;
      // A listing's real facts: a size and a quoted 32-hex S3 ETag.
      return {
        uri: `s3://bucket/images/${String(n).padStart(6, '0')}.jpg`,
        size: 100_000 + (n % 50_000),
        etag: `"${(n * 2654435761).toString(16).padStart(32, '0').slice(-32)}"`,
        ...(captionBytes > 0 ? { fields: { caption: caption(n) } } : {}),
      };
    });
    yield { index, images };
  }
}

/** Caption-like text of exactly captionBytes bytes, different per image (no shared strings in Redis). */
function caption(n: number): string {
  const words = ['a', 'photo', 'of', 'the', 'red', 'cat', 'on', 'wooden', 'table', 'near', 'window', `#${n}`];
  let text = '';
  for (let i = n; text.length < captionBytes; i += 7) text += `${words[i % words.length]} `;
  return text.slice(0, captionBytes);
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
}

async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const stats = new Map<string, number>();
  for (const match of (await redis.info('commandstats')).matchAll(/cmdstat_([^:]+):calls=(\d+)/g))
    stats.set(match[1] ?? '', Number(match[2]));
  return stats;
}

function perShard(before: Map<string, number>, after: Map<string, number>): Array<[string, number]> {
  return [...after]
    .map(([name, calls]): [string, number] => [name, (calls - (before.get(name) ?? 0)) / shardCount])
    .filter(([, calls]) => calls > 0)
    .sort((a, b) => b[1] - a[1]);
}

const ownRedis = process.env.REDIS_URL ? undefined : await startRedis();
const config = configFromEnv({
  ...process.env,
  REDIS_URL: process.env.REDIS_URL ?? ownRedis?.url,
  QUEUE_PREFIX: `bench-${Date.now().toString(36)}`,
});
const url = config.REDIS_URL ?? '';
const redis = connectRedis(url);
// BullMQ leaves connections it is given open on close(); these are closed in the finally below.
const queueConnection = connectRedis(url);
const workerConnection = connectRedis(url);
const queue = new Queue(SHARD_QUEUE_NAME, { connection: queueConnection, prefix: config.QUEUE_PREFIX });
const registry = new RunRegistry(redis, config.QUEUE_PREFIX);
try {
  await registry.create({
    run: RUN,
    input: 's3://bucket/images/',
    output: 's3://bucket/out/',
    model: 'default',
    inputRoots: ['s3://bucket/images/'],
    shardSize: imagesPerShard,
    normalize: false,
    carriedColumns: captionBytes > 0 ? [{ name: 'caption', type: 'string' }] : [],
  });
  await queue.waitUntilReady();
  const memoryBefore = await usedMemory(redis);
  const enqueueStatsBefore = await commandStats(redis);
  await enqueueShards(shards(), {
    queue,
    redis,
    registry,
    run: {
      run: RUN,
      output: 's3://bucket/out/',
      model: 'default',
      inputRoots: ['s3://bucket/images/'],
      normalize: false,
    },
    jobOptions: jobOptions(config),
  });
  await registry.finishListing(RUN, {
    images: shardCount * imagesPerShard,
    skipped: 0,
    unchanged: 0,
    shards: shardCount,
  });
  const memoryAfter = await usedMemory(redis);
  const enqueueStatsAfter = await commandStats(redis);
  const jobKey = queue.toKey(`${RUN}__000000`);
  const jobBytes = Number(await redis.call('MEMORY', 'USAGE', jobKey, 'SAMPLES', '0'));
  const payloadBytes = (await redis.hget(jobKey, 'data'))?.length ?? 0;

  console.log(
    `shards: ${shardCount} x ${imagesPerShard} images${captionBytes > 0 ? `, a ${captionBytes}-byte caption each` : ''} (${config.QUEUE_PREFIX})`,
  );
  console.log(
    `used_memory delta: ${memoryAfter - memoryBefore} bytes = ${Math.round((memoryAfter - memoryBefore) / shardCount)} bytes per queued shard (${((memoryAfter - memoryBefore) / shardCount / imagesPerShard).toFixed(1)} per image)`,
  );
  console.log(`MEMORY USAGE of one job hash: ${jobBytes} bytes; its JSON payload: ${payloadBytes} bytes`);
  console.log(
    `enqueue, commands per shard: ${perShard(enqueueStatsBefore, enqueueStatsAfter)
      .map(([n, c]) => `${n} ${c.toFixed(2)}`)
      .join(', ')}`,
  );

  const consumeBefore = await commandStats(redis);
  let processed = 0;
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const worker = new Worker(
      SHARD_QUEUE_NAME,
      async (job) => {
        // What ShardWorker.processShardJob does against Redis, in order, for one shard.
        await registry.get(RUN);
        await registry.isShardDone(RUN, job.data.shard);
        await registry.markStarted(RUN);
        for (let done = batchSize; done <= imagesPerShard; done += batchSize)
          await job.updateProgress(Math.round((done / imagesPerShard) * 100));
        await job.updateProgress(100);
        await registry.completeShard(RUN, job.data.shard, { ok: imagesPerShard, error: 0 }, 'bench');
        return { ok: imagesPerShard, error: 0 };
      },
      {
        connection: workerConnection,
        prefix: config.QUEUE_PREFIX,
        concurrency: 1,
        lockDuration: config.SHARD_LOCK_MS,
        stalledInterval: config.SHARD_LOCK_MS / 2,
        maxStalledCount: config.MAX_STALLED,
      },
    );
    worker.on('completed', () => {
      processed += 1;
      if (processed === shardCount) void worker.close().then(resolve, reject);
    });
    worker.on('error', reject);
  });
  const seconds = (performance.now() - started) / 1000;
  const consume = perShard(consumeBefore, await commandStats(redis));
  const total = consume.reduce((sum, [, calls]) => sum + calls, 0);
  console.log(
    `consume: ${shardCount} shards in ${seconds.toFixed(1)} s by one worker without inference (${Math.round(shardCount / seconds)} shards/s: Redis round trips only)`,
  );
  console.log(
    `consume, commands per shard (scripts' inner calls included): ${total.toFixed(1)} = ${consume.map(([n, c]) => `${n} ${c.toFixed(2)}`).join(', ')}`,
  );
} finally {
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  for (const connection of [redis, queueConnection, workerConnection]) connection.disconnect();
  await ownRedis?.stop();
}
