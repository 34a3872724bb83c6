import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { submitRun } from '../producer/submit.ts';
import { configFromEnv, SHARD_QUEUE_NAME } from '../shared/config.ts';
import type { Precision } from '../shared/inference/precision.ts';
import { manifestKey } from '../shared/output/output-format.ts';
import { openStore } from '../shared/storage/open-store.ts';
import type { StorageConfig } from '../shared/storage/storage-config.ts';
import { type ServerProcess, startServerProcess } from '../test/harness/child-process.ts';
import type { ShardTimings } from '../worker/process-shard.ts';

/** Where the end-to-end runs read from and write to (started by run-bench.ts). */
export interface BenchServices {
  redisUrl: string;
  /** Environment that points a child process at the S3 server (test/harness s3Env). */
  s3Env: Record<string, string>;
  storage: StorageConfig;
  /** s3:// prefix holding the bench images. */
  input: string;
  /** s3:// prefix the runs write under. */
  output: string;
}

export interface EndToEndPlan {
  /** 'onnx' runs `resnet-batch worker --engine onnx`; 'null' runs bench/bench-worker.ts. */
  engine: 'onnx' | 'null';
  /** Precision of the run and its workers; default fp32. */
  precision?: Precision;
  workers: number;
  batchSize: number;
  shardSize: number;
}

/** Measures 3-5: images per second from the submit call to the manifest being readable. */
export interface EndToEndResult extends EndToEndPlan {
  images: number;
  shards: number;
  seconds: number;
  imagesPerSecond: number;
  /** Peak RSS (VmHWM) of each worker process, MB. */
  workerPeakRssMb: number[];
  /** CPU seconds (user + system, all threads) each worker process used during the run. */
  workerCpuSeconds: number[];
  /** Per shard, seconds: inside engine calls, engine idle between them, writing outputs, whole shard. */
  shardTimings: ShardTimings[];
  /** Share of the run's wall time the engines were not inferring: 1 - sum(infer) / (workers * seconds). */
  engineIdleShare: number;
}

const cliEntry = fileURLToPath(new URL('../bin/resnet-batch.js', import.meta.url));
const benchWorker = fileURLToPath(new URL('./bench-worker.ts', import.meta.url));

export async function runEndToEnd(services: BenchServices, plan: EndToEndPlan): Promise<EndToEndResult> {
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const env = {
    ...process.env,
    ...services.s3Env,
    REDIS_URL: services.redisUrl,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'info',
    METRICS_PORT: '0',
  };
  const workers = await Promise.all(Array.from({ length: plan.workers }, () => startWorker(plan, env)));
  const store = openStore(services.output, services.storage);
  const cpuAtReady = await Promise.all(workers.map((worker) => cpuSeconds(worker.child.pid)));
  try {
    const started = performance.now();
    const submitted = await submitRun(
      {
        input: services.input,
        output: services.output,
        run: `${plan.engine}-${plan.precision ?? 'fp32'}-${plan.workers}w-${prefix}`,
        shardSize: plan.shardSize,
        precision: plan.precision ?? 'fp32',
      },
      { config: configFromEnv(env), redisUrl: services.redisUrl, openStore: (uri) => openStore(uri, services.storage) },
    );
    const manifest = manifestKey(services.output, submitted.run);
    while ((await store.stat(manifest)) === null) await new Promise((resolve) => setTimeout(resolve, 50));
    const seconds = (performance.now() - started) / 1000;
    const workerPeakRssMb = await Promise.all(workers.map((worker) => peakRssMb(worker.child.pid)));
    const workerCpuSeconds = await Promise.all(
      workers.map(async (worker, index) => (await cpuSeconds(worker.child.pid)) - (cpuAtReady[index] ?? 0)),
    );
    const shardTimings = await completedShardTimings(services.redisUrl, prefix);
    const inferSeconds = shardTimings.reduce((sum, timing) => sum + timing.infer, 0);
    return {
      ...plan,
      images: submitted.images,
      shards: submitted.shards,
      seconds,
      imagesPerSecond: submitted.images / seconds,
      workerPeakRssMb,
      workerCpuSeconds,
      shardTimings,
      engineIdleShare: 1 - inferSeconds / (plan.workers * seconds),
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop('SIGTERM', 30_000)));
    await store.close();
  }
}

async function startWorker(plan: EndToEndPlan, env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const args =
    plan.engine === 'onnx'
      ? [
          cliEntry,
          'worker',
          '--engine',
          'onnx',
          '--precision',
          plan.precision ?? 'fp32',
          '--batch-size',
          String(plan.batchSize),
          '--metrics-port',
          '0',
        ]
      : ['--import', 'tsx', benchWorker, 'null', String(plan.batchSize)];
  const { server } = await startServerProcess(process.execPath, args, {
    env,
    ready: /"msg":"worker ready"/,
    timeoutMs: 300_000,
  });
  return server;
}

/** The kernel's high-water mark of the process's resident set, in MB. */
async function peakRssMb(pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kilobytes = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kilobytes / 1024;
}

/** User + system CPU seconds of a process, all threads (/proc/<pid>/stat fields 14 and 15, in clock ticks of 1/100 s). */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Shard jobs keep their ShardOutcome as the return value, timings included. */
async function completedShardTimings(redisUrl: string, prefix: string): Promise<ShardTimings[]> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(SHARD_QUEUE_NAME, { connection, prefix });
  try {
    const jobs = await queue.getJobs(['completed']);
    return jobs.flatMap((job) => {
      const timings = (job.returnvalue as { timings?: ShardTimings } | null)?.timings;
      return timings ? [timings] : [];
    });
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
