import type { Job, Queue } from 'bullmq';
import type { PipelineConfig } from '../config.ts';
import { jobOptions } from '../queue/job-options.ts';
import { FINALIZE_JOB_NAME, type FinalizeJob, finalizeJobId, JOB_PAYLOAD_VERSION } from '../queue/job-payload.ts';
import type { RunRegistry } from './run-registry.ts';

/**
 * The one place a run's finaliser job (it writes `_manifest.json`) is enqueued. Two callers:
 * submit, when every shard was already accounted for at the end of listing, and the worker that
 * completes or fails the last shard. The job id carries the run's generation (bumped by each
 * `retry`), so a reopened run gets a new finaliser while a second enqueue of the same generation
 * is ignored by BullMQ.
 */
export async function enqueueFinalizer(
  queue: Queue,
  registry: RunRegistry,
  run: string,
  config: Pick<PipelineConfig, 'JOB_ATTEMPTS' | 'JOB_BACKOFF_MS'>,
): Promise<void> {
  const generation = await registry.generation(run);
  const data: FinalizeJob = { v: JOB_PAYLOAD_VERSION, run, generation };
  const jobId = finalizeJobId(run, generation);
  // A job under this id that failed as INVALID_JOB was added by someone else before the run was
  // complete (a forged finaliser): it must not block the real one, which BullMQ would ignore as a
  // duplicate id. A finaliser of ours that failed for good stays until `retry`.
  const existing = await queue.getJob(jobId);
  const state = existing ? await existing.getState() : undefined;
  if (existing && state === 'failed' && /^INVALID_JOB\b/.test(existing.failedReason ?? '')) {
    await existing.remove();
  } else if (existing && WAITING_STATES.has(String(state)) && !isOurs(existing, data, config)) {
    // Same id, other payload or options (a delay of a year, a priority) written straight into
    // Redis: it would hold the id, and BullMQ would ignore ours. Not started yet, so removable.
    await existing.remove();
  }
  await queue.add(FINALIZE_JOB_NAME, data, { ...jobOptions(config), jobId });
}

/** States of a job no worker has taken yet. */
const WAITING_STATES: ReadonlySet<string> = new Set([
  'waiting',
  'delayed',
  'prioritized',
  'waiting-children',
  'paused',
]);

/** Whether a waiting job under the finaliser's id is the one this function adds: same name, payload and options. */
function isOurs(job: Job, data: FinalizeJob, config: Pick<PipelineConfig, 'JOB_ATTEMPTS' | 'JOB_BACKOFF_MS'>): boolean {
  const options = jobOptions(config);
  return (
    job.name === FINALIZE_JOB_NAME &&
    JSON.stringify(job.data) === JSON.stringify(data) &&
    job.opts.attempts === options.attempts &&
    !job.opts.delay &&
    !job.opts.priority &&
    !job.opts.lifo
  );
}
