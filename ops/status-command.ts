import { Queue } from 'bullmq';
import { configFromEnv, SHARD_QUEUE_NAME } from '../shared/config.ts';
import { connectRedis, reachableRedisUrl } from '../shared/redis-connection.ts';
import type { RunRecord } from '../shared/run-record.ts';
import { RunRegistry } from '../shared/run-registry.ts';
import { type RunProgress, runProgress } from './run-progress.ts';

/** `resnet-batch status <run> [--json]`. Exit 0 when the run exists, 1 when it does not. */
export async function statusCommand(run: string, options: { json: boolean }): Promise<number> {
  const config = configFromEnv();
  const redisUrl = await reachableRedisUrl(config.REDIS_URL, 'status reads the Redis the run was submitted to');
  const redis = connectRedis(redisUrl);
  const queue = new Queue(SHARD_QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX });
  try {
    const record = await new RunRegistry(redis, config.QUEUE_PREFIX).require(run);
    const queueCounts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    const progress = runProgress(record);
    process.stdout.write(
      options.json ? `${JSON.stringify(statusJson(record, progress, queueCounts))}\n` : statusText(record, progress),
    );
    return 0;
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

export function statusJson(record: RunRecord, progress: RunProgress, queue: Record<string, number>): object {
  return {
    run: record.run,
    state: record.state,
    input: record.input,
    output: record.output,
    model: record.model,
    precision: record.precision,
    images: {
      total: record.images.total,
      ok: record.images.ok,
      error: record.images.error,
      skipped: record.images.skipped,
    },
    shards: {
      total: record.shards.total,
      done: record.shards.done,
      failed: record.shards.failed,
      failed_shards: record.shards.failedShards,
    },
    listing_done: record.listingDone,
    engines: record.engines,
    images_per_second: Number(progress.imagesPerSecond.toFixed(3)),
    eta_seconds: progress.etaSeconds === null ? null : Math.round(progress.etaSeconds),
    created_at: record.createdAt,
    started_at: record.startedAt,
    finished_at: record.finishedAt,
    queue,
  };
}

function statusText(record: RunRecord, progress: RunProgress): string {
  const total = record.listingDone ? String(record.images.total) : `${record.images.total}+ (listing)`;
  const eta = progress.etaSeconds === null ? 'unknown' : `${Math.round(progress.etaSeconds)} s`;
  const lines = [
    `run       ${record.run} (${record.state})`,
    `input     ${record.input}`,
    `output    ${record.output}/${record.run}/`,
    `images    ${progress.processed}/${total} processed: ${record.images.ok} ok, ${record.images.error} error, ${record.images.skipped} skipped (not images)`,
    `shards    ${record.shards.done}/${record.shards.total} done, ${record.shards.failed} failed${record.shards.failed ? ` (${record.shards.failedShards.join(', ')}; resnet-batch retry ${record.run})` : ''}`,
    `speed     ${progress.imagesPerSecond.toFixed(2)} img/s, ETA ${eta}`,
    `engines   ${record.engines.join(', ') || '-'} (${record.precision})`,
  ];
  return `${lines.join('\n')}\n`;
}
