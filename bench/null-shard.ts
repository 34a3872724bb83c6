import type { ShardJob } from '../shared/queue/job-payload.ts';
import type { ShardContext, ShardOutcome } from '../worker/process-shard.ts';

/**
 * A shard processed for nothing but its Redis traffic (bench/redis-ceiling.ts): exactly the calls
 * worker/process-shard.ts makes to Redis for a shard of K images in batches of B, with no image
 * fetched, decoded, inferred or written. Those calls are
 *   - after each full batch, the progress report (the job's progress and the run's activity,
 *     worker/shard-job.ts progressReporter), and once more at the end;
 *   - before each of the three part writes, the lease check (BullMQ's extendLock,
 *     worker/shard-commit.ts commitShard).
 * Everything around it (validation, the registry's reads, completeShard, BullMQ's fetch and
 * finish of the job) is the real worker's (worker/shard-job.ts runShardJob in ShardWorker).
 */
export async function nullShard(job: ShardJob, context: ShardContext): Promise<ShardOutcome> {
  const started = performance.now();
  const total = job.images.length;
  for (let done = context.batchSize; done <= total; done += context.batchSize) await context.onProgress?.(done, total);
  for (let write = 0; write < 3; write += 1) await context.lease?.confirm();
  await context.onProgress?.(total, total);
  const seconds = (performance.now() - started) / 1000;
  return {
    ok: total,
    error: 0,
    alreadyCommitted: false,
    timings: { infer: 0, engineWait: 0, write: 0, total: seconds },
  };
}
