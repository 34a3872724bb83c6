import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { configFromEnv, type PipelineConfig, SHARD_QUEUE_NAME } from '../shared/config.ts';
import { eraseTerminalLine, setLiveLine } from '../shared/observability/live-line.ts';
import { connectRedis, reachableRedisUrl } from '../shared/queue/redis-connection.ts';
import { RunActivity } from '../shared/run/run-activity.ts';
import type { RunRecord } from '../shared/run/run-record.ts';
import { RunRegistry } from '../shared/run/run-registry.ts';
import { formatDuration, type RunProgress, readRunProgress, runExitCode } from './run-progress.ts';

export interface StatusOptions {
  /** Machine-readable output on stdout. */
  json: boolean;
  /** Block until the run has finished (or failed finalising), then exit by its outcome. */
  wait: boolean;
  /** With `wait`: give up after this many seconds, with exit code STATUS_EXIT.timedOut. */
  timeout?: number;
}

/**
 * Exit codes of `status`. Without --wait: `complete` when the run exists (whatever its state), and
 * `notFound` when it does not. With --wait, by how the run ended: `complete` when every input has
 * an ok row, `failed` when some input has an error row, shards failed for good or the finaliser
 * did (resnet-batch retry reopens those; `resnet-batch failed` lists the inputs with error rows). `notFound` is also Redis unreachable (bin/cli.ts exits 1 on any error), and
 * `timedOut` is 124 like timeout(1), so a script tells "gave up" from "failed".
 */
export const STATUS_EXIT = { complete: 0, notFound: 1, failed: 2, timedOut: 124 } as const;

/** How often --wait reads the run. */
const WAIT_POLL_MS = 1000;

/** What `status` shows beyond the run record. */
interface StatusView {
  record: RunRecord;
  progress: RunProgress;
  queue: Record<string, number>;
  /** Workers connected to the shard queue under this QUEUE_PREFIX; null when Redis will not say (CLIENT LIST disabled). */
  workers: number | null;
}

/** `resnet-batch status <run> [--json] [--wait [--timeout <s>]]`. */
export async function statusCommand(
  run: string,
  options: StatusOptions,
  stderr: NodeJS.WriteStream = process.stderr,
): Promise<number> {
  const config = configFromEnv();
  const redisUrl = await reachableRedisUrl(config.REDIS_URL, 'status reads the Redis the run was submitted to');
  // A few retries, not BullMQ's forever: a Redis that goes away while waiting ends status with exit 1.
  const redis = connectRedis(redisUrl, undefined, { maxRetriesPerRequest: 3 });
  const queue = new Queue(SHARD_QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX });
  try {
    const read = () => readStatus(run, redis, queue, config);
    const view = options.wait ? await waitForEnd(read, options, stderr) : await read();
    if (view === null) {
      stderr.write(`resnet-batch: gave up waiting for run ${run} after ${options.timeout} s; it goes on\n`);
      return STATUS_EXIT.timedOut;
    }
    process.stdout.write(options.json ? `${JSON.stringify(statusJson(view))}\n` : statusText(view, config));
    return options.wait ? exitFor(view.record) : STATUS_EXIT.complete;
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

async function readStatus(run: string, redis: Redis, queue: Queue, config: PipelineConfig): Promise<StatusView> {
  const record = await new RunRegistry(redis, config.QUEUE_PREFIX).require(run);
  const [progress, queueCounts, workers] = await Promise.all([
    readRunProgress(new RunActivity(redis, config.QUEUE_PREFIX), record),
    queue.getJobCounts('waiting', 'active', 'delayed', 'failed'),
    queue.getWorkersCount().catch(() => null),
  ]);
  return { record, progress, queue: queueCounts, workers };
}

/** The run has ended for --wait: finished (manifest written), or its finaliser failed for good. */
export function hasEnded(record: RunRecord): boolean {
  return record.finishedAt !== null || record.finalizeError !== null;
}

export function exitFor(record: RunRecord): number {
  return record.finalizeError !== null || runExitCode(record) !== 0 ? STATUS_EXIT.failed : STATUS_EXIT.complete;
}

/** Polls until the run ends; a live line on a terminal meanwhile. Null when the timeout passed first. */
async function waitForEnd(
  read: () => Promise<StatusView>,
  options: StatusOptions,
  stderr: NodeJS.WriteStream,
): Promise<StatusView | null> {
  const deadline = options.timeout === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeout * 1000;
  const live = stderr.isTTY === true;
  if (live) setLiveLine(eraseTerminalLine(stderr));
  try {
    for (;;) {
      const view = await read();
      if (hasEnded(view.record)) return view;
      if (Date.now() >= deadline) return null;
      if (live) stderr.write(`\r\x1b[K${liveLine(view)}`);
      await sleep(Math.min(WAIT_POLL_MS, Math.max(0, deadline - Date.now())));
    }
  } finally {
    if (live) {
      stderr.write('\r\x1b[K');
      setLiveLine(undefined);
    }
  }
}

function liveLine({ record, progress, workers }: StatusView): string {
  const total = record.listingDone ? String(record.images.total) : `${record.images.total}+`;
  const eta = progress.etaSeconds === null ? '' : `, ETA ${formatDuration(progress.etaSeconds)}`;
  const failed = record.shards.failed > 0 ? `, ${record.shards.failed} shard(s) failed` : '';
  return `${record.run}: ${progress.processed}/${total} images, ${progress.recentImagesPerSecond.toFixed(1)} img/s${eta}${failed}, ${workerCount(workers)}`;
}

function workerCount(workers: number | null): string {
  return workers === null ? 'workers unknown' : `${workers} worker${workers === 1 ? '' : 's'}`;
}

export function statusJson({ record, progress, queue, workers }: StatusView): object {
  return {
    run: record.run,
    state: record.state,
    input: record.input,
    output: record.output,
    model: record.model,
    model_sha256: record.modelSha256 ?? null,
    precision: record.precision,
    images: {
      total: record.images.total,
      ok: record.images.ok,
      error: record.images.error,
      skipped: record.images.skipped,
      unchanged: record.images.unchanged,
      processed: progress.processed,
    },
    shards: {
      total: record.shards.total,
      done: record.shards.done,
      failed: record.shards.failed,
      failed_shards: record.shards.failedShards,
    },
    listing_done: record.listingDone,
    finalize_error: record.finalizeError,
    engines: record.engines,
    images_per_second: Number(progress.imagesPerSecond.toFixed(3)),
    images_per_second_last_minute: Number(progress.recentImagesPerSecond.toFixed(3)),
    eta_seconds: progress.etaSeconds === null ? null : Math.round(progress.etaSeconds),
    created_at: record.createdAt,
    started_at: record.startedAt,
    finished_at: record.finishedAt,
    queue,
    workers,
  };
}

function statusText({ record, progress, workers }: StatusView, config: PipelineConfig): string {
  const total = record.listingDone ? String(record.images.total) : `${record.images.total}+ (listing)`;
  const eta = progress.etaSeconds === null ? 'unknown' : formatDuration(progress.etaSeconds);
  const notImages = record.images.skipped - record.images.unchanged;
  const skipped = [
    ...(record.images.unchanged > 0 ? [`${record.images.unchanged} unchanged since ${record.since}`] : []),
    `${notImages} skipped (not images or unreadable)`,
  ].join(', ');
  const speed = record.finishedAt
    ? `${progress.imagesPerSecond.toFixed(2)} img/s over ${formatDuration(progress.elapsedSeconds)}`
    : `${progress.recentImagesPerSecond.toFixed(2)} img/s last minute, ${progress.imagesPerSecond.toFixed(2)} mean, ETA ${eta}`;
  const lines = [
    `run       ${record.run} (${record.state})`,
    `input     ${record.input}`,
    `output    ${record.output}/${record.run}/`,
    `model     ${record.model}${record.modelSha256 ? ` (weights sha256 ${record.modelSha256.slice(0, 12)}…)` : ''}`,
    `images    ${progress.processed}/${total} processed: ${record.images.ok} ok, ${record.images.error} error; ${skipped}`,
    `shards    ${record.shards.done}/${record.shards.total} done, ${record.shards.failed} failed${record.shards.failed ? ` (${record.shards.failedShards.join(', ')}; resnet-batch retry ${record.run})` : ''}`,
    `speed     ${speed}`,
    `engines   ${record.engines.join(', ') || '-'} (${record.precision})`,
    `workers   ${workersLine(record, workers, config)}`,
    ...(record.finalizeError === null
      ? []
      : [`finalising failed: ${record.finalizeError}; fix the cause, then resnet-batch retry ${record.run}`]),
  ];
  return `${lines.join('\n')}\n`;
}

function workersLine(record: RunRecord, workers: number | null, config: PipelineConfig): string {
  if (workers === null) return 'unknown (this Redis does not allow CLIENT LIST)';
  if (workers > 0 || hasEnded(record)) return String(workers);
  return `0: no worker is connected to this queue (QUEUE_PREFIX '${config.QUEUE_PREFIX}'); start one with resnet-batch worker, with the same REDIS_URL and QUEUE_PREFIX`;
}
