import type { Precision } from '../shared/inference/precision.ts';
import type { ShardJob } from '../shared/queue/job-payload.ts';
import { InvalidJobError, shardPrecision } from '../shared/queue/job-payload.ts';
import { isWithin, normalizeUri } from '../shared/storage/uri.ts';

/**
 * A shard job comes from Redis, where anyone with access can add one. Beyond the schema, every
 * image must lie under one of the run's input roots as recorded when the run was submitted
 * (never the roots the job itself claims), so a forged job cannot read file:///etc/passwd, another
 * bucket or a metadata endpoint. Output keys are built from the validated run id and shard index
 * only (shared/output/output-format.ts), so they cannot leave `<output>/<run>/`.
 */
export function authorizeShard(
  job: ShardJob,
  run: { inputRoots: string[]; output: string; model: string; precision: Precision; normalize: boolean },
): void {
  if (normalizeUri(job.output) !== normalizeUri(run.output)) {
    throw new InvalidJobError(
      `shard ${job.shard} of run ${job.run} writes to ${job.output}, but the run's output is ${run.output}; the job was not made by submit`,
    );
  }
  if (job.model !== run.model) {
    throw new InvalidJobError(
      `shard ${job.shard} of run ${job.run} asks for model ${job.model}, but the run's model is ${run.model}; the job was not made by submit`,
    );
  }
  if (shardPrecision(job) !== run.precision) {
    throw new InvalidJobError(
      `shard ${job.shard} of run ${job.run} asks for precision ${shardPrecision(job)}, but the run's precision is ${run.precision}; the job was not made by submit`,
    );
  }
  if (job.normalize !== run.normalize) {
    throw new InvalidJobError(
      `shard ${job.shard} of run ${job.run} asks for normalize=${job.normalize}, but the run was submitted with normalize=${run.normalize}; the job was not made by submit`,
    );
  }
  for (const image of job.images) {
    const allowed = run.inputRoots.some((root) => safeIsWithin(root, image.uri));
    if (!allowed) {
      throw new InvalidJobError(
        `shard ${job.shard} of run ${job.run} names ${image.uri}, outside the run's input roots (${run.inputRoots.join(', ')}); refusing the whole shard`,
      );
    }
  }
}

function safeIsWithin(root: string, uri: string): boolean {
  try {
    return isWithin(root, uri);
  } catch {
    return false;
  }
}
