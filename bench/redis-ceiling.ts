// The ceiling of one Redis (measure 7 of `npm run bench`, docs/OPERATIONS.md "How many workers one
// Redis serves"): the real queue and run bookkeeping driven by many simulated workers until Redis,
// not the workers, is the limit.
//
//   1. A redis-server of its own (so nothing else moves its CPU or memory); a run record; N shards
//      of K images enqueued by the producer's enqueueShards. Redis memory per queued image is the
//      used_memory delta over the images.
//   2. P processes of bench/redis-ceiling-workers.ts, each with W real ShardWorkers (null engine,
//      a store that discards writes, a shard processor that makes only a real shard's Redis calls),
//      consume the queue. Every 250 ms the shards done (the run's done set) and Redis's CPU time
//      (INFO cpu, user + sys) are sampled.
//   3. The rate is taken over the steady part of the run, from 10% to 70% of the shards done (after
//      every worker is up, before the queue drains): shards/s and images/s, Redis CPU in cores
//      (CPU seconds / wall seconds; 1.0 is Redis's one thread saturated) and CPU per shard.
// When the drivers cannot push Redis to a full core (they share the machine's cores with it), the
// ceiling is 1 / (Redis CPU seconds per shard): what one core of Redis completes when busy all the
// time. Both the rate reached and that ceiling are reported, with the load Redis was under.
//
//   node --import tsx bench/redis-ceiling.ts [shardSize=256] [shards=3000] [processes=2] [workersPerProcess=16]
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { enqueueShards } from '../producer/enqueue-shards.ts';
import type { Shard } from '../producer/shard-listing.ts';
import { configFromEnv, SHARD_QUEUE_NAME } from '../shared/config.ts';
import { jobOptions } from '../shared/queue/job-options.ts';
import { connectRedis } from '../shared/queue/redis-connection.ts';
import { RunRegistry } from '../shared/run/run-registry.ts';
import { startRedis } from '../test/harness/redis-server.ts';

export interface RedisCeilingPlan {
  shardSize: number;
  shards: number;
  processes: number;
  workersPerProcess: number;
  /** Images per progress report, as the worker's BATCH_SIZE. Default 32. */
  batchSize?: number;
}

export interface RedisCeiling {
  shardSize: number;
  shards: number;
  /** Simulated workers (ShardWorkers, 2 shards in flight each). */
  workers: number;
  batchSize: number;
  /** Redis used_memory growth per queued image while the shards wait, bytes. */
  queuedBytesPerImage: number;
  /** Over the steady window: shards and images completed per second. */
  shardsPerSecond: number;
  imagesPerSecond: number;
  /** Redis CPU over the window, in cores (1.0: its main thread busy all the time). */
  redisCpuCores: number;
  /** Redis CPU time per shard, ms. */
  redisCpuMsPerShard: number;
  /** Commands Redis ran per shard (the calls inside Lua scripts included). */
  commandsPerShard: number;
  /** What one fully busy Redis core completes: 1000 / redisCpuMsPerShard shards/s, and in images. */
  ceilingShardsPerSecond: number;
  ceilingImagesPerSecond: number;
  windowSeconds: number;
}

const workersScript = fileURLToPath(new URL('./redis-ceiling-workers.ts', import.meta.url));
const RUN = 'ceiling';
const MODEL = 'default';
const ROOT = 's3://bucket/images/';

export async function measureRedisCeiling(plan: RedisCeilingPlan): Promise<RedisCeiling> {
  const batchSize = plan.batchSize ?? 32;
  const server = await startRedis();
  const prefix = `ceiling-${plan.shardSize}`;
  const config = configFromEnv({ ...process.env, REDIS_URL: server.url, QUEUE_PREFIX: prefix });
  const redis = connectRedis(server.url);
  // BullMQ never closes a connection it is handed: this one is disconnected below.
  const queueConnection = connectRedis(server.url);
  const queue = new Queue(SHARD_QUEUE_NAME, { connection: queueConnection, prefix });
  const children: ChildProcess[] = [];
  try {
    const registry = new RunRegistry(redis, prefix);
    await registry.create({
      run: RUN,
      input: ROOT,
      output: 's3://bucket/out/',
      model: MODEL,
      inputRoots: [ROOT],
      shardSize: plan.shardSize,
      normalize: false,
      carriedColumns: [],
    });
    await queue.waitUntilReady();
    const memoryBefore = await infoNumber(redis, 'memory', 'used_memory');
    // The listing is never finished on purpose: the run never completes, so no finaliser runs
    // against the discarding store, and only shards are measured.
    await enqueueShards(shards(plan), {
      queue,
      redis,
      registry,
      run: { run: RUN, output: 's3://bucket/out/', model: MODEL, inputRoots: [ROOT], normalize: false },
      jobOptions: jobOptions(config),
    });
    const queuedBytes = (await infoNumber(redis, 'memory', 'used_memory')) - memoryBefore;

    const env = {
      ...process.env,
      REDIS_URL: server.url,
      QUEUE_PREFIX: prefix,
      BATCH_SIZE: String(batchSize),
      SHARDS_IN_FLIGHT: '2',
      LOG_LEVEL: 'warn',
    };
    for (let i = 0; i < plan.processes; i += 1) {
      children.push(
        spawn(process.execPath, ['--import', 'tsx', workersScript, String(plan.workersPerProcess), MODEL], {
          env,
          stdio: ['ignore', 'ignore', 'inherit'],
        }),
      );
    }
    const window = await sampleWindow(redis, `${prefix}:run:${RUN}:done`, plan.shards);
    const cpuSeconds = window.cpuSeconds;
    const shardsDone = window.shardsDone;
    const cpuMsPerShard = (cpuSeconds * 1000) / shardsDone;
    return {
      shardSize: plan.shardSize,
      shards: plan.shards,
      workers: plan.processes * plan.workersPerProcess,
      batchSize,
      queuedBytesPerImage: queuedBytes / (plan.shards * plan.shardSize),
      shardsPerSecond: shardsDone / window.seconds,
      imagesPerSecond: (shardsDone * plan.shardSize) / window.seconds,
      redisCpuCores: cpuSeconds / window.seconds,
      redisCpuMsPerShard: cpuMsPerShard,
      commandsPerShard: window.commands / shardsDone,
      ceilingShardsPerSecond: 1000 / cpuMsPerShard,
      ceilingImagesPerSecond: (1000 / cpuMsPerShard) * plan.shardSize,
      windowSeconds: window.seconds,
    };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => new Promise((resolve) => child.once('close', resolve))));
    await queue.close();
    queueConnection.disconnect();
    redis.disconnect();
    await server.stop();
  }
}

async function* shards(plan: RedisCeilingPlan): AsyncGenerator<Shard> {
  for (let index = 0; index < plan.shards; index += 1) {
    const images = Array.from({ length: plan.shardSize }, (_, i) => {
      const n = index * plan.shardSize + i;
      return {
        uri: `${ROOT}${String(n).padStart(8, '0')}.jpg`,
        size: 100_000 + (n % 50_000),
        etag: (n * 2654435761).toString(16).padStart(32, '0').slice(-32),
      };
    });
    yield { index, images };
  }
}

interface Window {
  seconds: number;
  shardsDone: number;
  cpuSeconds: number;
  commands: number;
}

/** Samples until 70% of the shards are done; the window runs from the first sample past 10%. */
async function sampleWindow(redis: Redis, doneKey: string, total: number): Promise<Window> {
  const deadline = Date.now() + 600_000;
  let start: { at: number; done: number; cpu: number; commands: number } | undefined;
  for (;;) {
    const [done, cpu, commands] = await Promise.all([redis.scard(doneKey), redisCpu(redis), totalCommands(redis)]);
    const at = performance.now();
    if (start === undefined && done >= total * 0.1) start = { at, done, cpu, commands };
    if (start !== undefined && done >= total * 0.7) {
      return {
        seconds: (at - start.at) / 1000,
        shardsDone: done - start.done,
        cpuSeconds: cpu - start.cpu,
        commands: commands - start.commands,
      };
    }
    if (Date.now() > deadline) throw new Error(`only ${done} of ${total} shards done after 10 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function infoNumber(redis: Redis, section: string, field: string): Promise<number> {
  return Number(new RegExp(`^${field}:([0-9.]+)`, 'm').exec(await redis.info(section))?.[1] ?? Number.NaN);
}

/** Redis's CPU seconds so far (user + system, all its threads; the main thread does the work). */
async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** Commands Redis has run so far, the calls inside scripts included (INFO commandstats). */
async function totalCommands(redis: Redis): Promise<number> {
  let calls = 0;
  for (const match of (await redis.info('commandstats')).matchAll(/calls=(\d+)/g)) calls += Number(match[1]);
  return calls;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [shardSize = 256, shardCount = 3000, processes = 2, perProcess = 16] = process.argv.slice(2).map(Number);
  console.log(
    JSON.stringify(
      await measureRedisCeiling({ shardSize, shards: shardCount, processes, workersPerProcess: perProcess }),
      null,
      2,
    ),
  );
}
