import type { JobsOptions } from 'bullmq';
import type { PipelineConfig } from '../config.ts';

/**
 * The BullMQ options of every job the pipeline adds (shards and finalisers): attempts and
 * exponential backoff from the configuration (JOB_ATTEMPTS, JOB_BACKOFF_MS), and retention.
 *
 * Retention, and why:
 *   removeOnComplete { count: KEEP_COMPLETED_JOBS }: a completed shard job's payload is ~30 KB,
 *     and a run of millions of images has thousands of them; the registry's done set is what keeps
 *     a resubmission from redoing a shard, so only the latest few are kept, for inspection.
 *   removeOnFail false: a failed job keeps its error for `status`, and its id keeps a plain
 *     resubmission from silently retrying a poison shard (`retry` does that on purpose).
 */
export const KEEP_COMPLETED_JOBS = 1000;

export function jobOptions(config: Pick<PipelineConfig, 'JOB_ATTEMPTS' | 'JOB_BACKOFF_MS'>): JobsOptions {
  return {
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.JOB_BACKOFF_MS },
    removeOnComplete: { count: KEEP_COMPLETED_JOBS },
    removeOnFail: false,
  };
}
