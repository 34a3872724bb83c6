import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { submitRun } from '../producer/submit.ts';
import { configFromEnv } from '../shared/config.ts';
import type { EngineChoice } from '../shared/engine.ts';
import { ResnetBatchError } from '../shared/errors.ts';
import { createLogger } from '../shared/logger.ts';
import { connectRedis } from '../shared/redis-connection.ts';
import { RunActivity } from '../shared/run-activity.ts';
import type { RunRecord } from '../shared/run-record.ts';
import { RunRegistry } from '../shared/run-registry.ts';
import { type EmbeddedRedis, startEmbeddedRedis } from './embedded-redis.ts';
import { formatDuration, readRunProgress, runProgress } from './run-progress.ts';

export interface RunCommandOptions {
  output: string;
  run?: string;
  workers: number;
  shardSize: number;
  /** L2-normalise the vectors; default false. */
  normalize?: boolean;
  batchSize?: number;
  /** Default ENGINE (shared/config.ts), else auto; passed to every local worker. */
  engine?: EngineChoice;
  model?: string;
  /** The column of image URLs of a CSV or Parquet list; default `url`, else `uri`. */
  urlColumn?: string;
}

const cliEntry = fileURLToPath(new URL('../bin/resnet-batch.js', import.meta.url));

/**
 * `resnet-batch run`: submit, N local worker processes and the wait, in one command. Without
 * REDIS_URL it brings its own redis-server (ops/embedded-redis.ts). Exit 0 when every input
 * image has a row (ok or error), 2 when some shards failed for good, 1 on a fatal error.
 */
export async function runCommand(input: string, options: RunCommandOptions): Promise<number> {
  const config = configFromEnv();
  const logger = createLogger('run');
  const embedded: EmbeddedRedis | undefined = config.REDIS_URL ? undefined : await startEmbeddedRedis();
  const redisUrl = config.REDIS_URL ?? embedded?.url ?? '';
  const workers: ChildProcess[] = [];
  const redis = connectRedis(redisUrl, logger);
  try {
    const submitted = await submitRun(
      {
        input,
        output: options.output,
        run: options.run,
        shardSize: options.shardSize,
        model: options.model,
        normalize: options.normalize,
        ...(options.urlColumn === undefined ? {} : { urlColumn: options.urlColumn }),
      },
      { config, redisUrl, logger },
    );
    process.stderr.write(
      `run ${submitted.run}: ${submitted.images} images in ${submitted.shards} shards (${submitted.skipped} skipped), ${options.workers} worker(s)\n`,
    );
    for (let index = 0; index < options.workers; index += 1) workers.push(startWorker(redisUrl, options));
    const record = await waitForRun(
      new RunRegistry(redis, config.QUEUE_PREFIX),
      new RunActivity(redis, config.QUEUE_PREFIX),
      submitted.run,
      workers,
    );
    printSummary(record);
    return record.shards.failed === 0 ? 0 : 2;
  } finally {
    await stopWorkers(workers);
    redis.disconnect();
    await embedded?.stop();
  }
}

function startWorker(redisUrl: string, options: RunCommandOptions): ChildProcess {
  const args = [cliEntry, 'worker'];
  if (options.engine) args.push('--engine', options.engine);
  if (options.batchSize) args.push('--batch-size', String(options.batchSize));
  if (options.model) args.push('--model', options.model);
  // Workers log JSON to stderr; only warnings and errors reach the terminal unless LOG_LEVEL says otherwise.
  // Local workers share one host: metrics stay off unless METRICS_PORT asks for them (then the
  // first worker serves it and the others warn that the port is taken).
  const env = {
    ...process.env,
    REDIS_URL: redisUrl,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    METRICS_PORT: process.env.METRICS_PORT ?? '0',
  };
  return spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function waitForRun(
  registry: RunRegistry,
  activity: RunActivity,
  run: string,
  workers: ChildProcess[],
): Promise<RunRecord> {
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar(
        {
          format: ' {bar} {value}/{total} images | {speed} img/s | ETA {eta_formatted} | {errors} errors',
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let lastLine = 0;
  try {
    for (;;) {
      const record = await registry.get(run);
      if (!record)
        throw new ResnetBatchError(
          'RUN_MISSING',
          `run ${run} disappeared from Redis; was the server restarted without persistence?`,
        );
      const progress = await readRunProgress(activity, record);
      const speed = (progress.recentImagesPerSecond || progress.imagesPerSecond).toFixed(1);
      const eta = progress.etaSeconds === null ? '-' : formatDuration(progress.etaSeconds);
      if (bar) {
        if (!bar.isActive) bar.start(record.images.total, 0, { speed: '0', errors: 0, eta: '-' });
        bar.setTotal(record.images.total);
        bar.update(progress.processed, { speed, errors: record.images.error, eta });
      } else if (Date.now() - lastLine > 5000) {
        process.stderr.write(
          `progress: ${progress.processed}/${record.images.total} images, ${record.shards.done + record.shards.failed}/${record.shards.total} shards, ${speed} img/s, ETA ${eta}\n`,
        );
        lastLine = Date.now();
      }
      if (record.state === 'done') return record;
      if (record.finalizeError !== null) {
        throw new ResnetBatchError(
          'FINALIZE_FAILED',
          `every shard of run ${run} is accounted for, but writing its manifest failed for good: ${record.finalizeError}; fix the cause, then resnet-batch retry ${run} (with REDIS_URL set) or run this command again`,
        );
      }
      if (workers.every((worker) => worker.exitCode !== null)) {
        throw new ResnetBatchError(
          'WORKERS_EXITED',
          `every worker exited before run ${run} finished (exit codes ${workers.map((w) => w.exitCode).join(', ')}); their errors are above`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    bar?.stop();
  }
}

function printSummary(record: RunRecord): void {
  const progress = runProgress(record);
  const failed = record.shards.failed
    ? `, ${record.shards.failed} shard(s) failed: ${record.shards.failedShards.join(', ')} (resnet-batch retry ${record.run})`
    : '';
  process.stderr.write(
    `done: ${record.images.ok} ok, ${record.images.error} error, ${record.images.skipped} skipped in ${progress.elapsedSeconds.toFixed(1)} s (${progress.imagesPerSecond.toFixed(2)} img/s)${failed}\n` +
      `output: ${record.output.replace(/\/+$/, '')}/${record.run}/ (embeddings/*.npy, metadata/*.parquet, errors/*.parquet, _manifest.json)\n`,
  );
  process.stdout.write(`${record.run}\n`);
}

async function stopWorkers(workers: ChildProcess[]): Promise<void> {
  await Promise.all(
    workers.map(async (worker) => {
      if (worker.exitCode !== null || worker.signalCode !== null) return;
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGTERM');
      const timer = setTimeout(() => worker.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}
