import type { Job, Queue } from 'bullmq';
import type { PipelineConfig } from '../shared/config.ts';
import type { InferenceEngine } from '../shared/inference/engine.ts';
import type { Logger } from '../shared/observability/logger.ts';
import {
  InvalidJobError,
  parseShardJob,
  type ShardJob,
  shardJobId,
  shardPrecision,
} from '../shared/queue/job-payload.ts';
import { enqueueFinalizer } from '../shared/run/enqueue-finalizer.ts';
import type { RunActivity } from '../shared/run/run-activity.ts';
import type { RunRecord } from '../shared/run/run-record.ts';
import type { RunRegistry } from '../shared/run/run-registry.ts';
import { shardDigest } from '../shared/run/shard-digest.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import { authorizeShard } from './authorize-shard.ts';
import { type LoadedModel, requireLoadedModel, requireRecordedWeights } from './loaded-model.ts';
import { processShard, type ShardContext, type ShardOutcome } from './process-shard.ts';
import type { ShardLease } from './shard-commit.ts';
import type { WorkerMetrics } from './worker-metrics.ts';

/** What a shard job needs from the worker process around it. */
export interface ShardJobDeps {
  config: PipelineConfig;
  registry: RunRegistry;
  /** Where each batch is reported, for progress between shard completions. */
  activity: RunActivity;
  /** The shard queue, to enqueue the run's finaliser when this shard completes the run. */
  queue: Queue;
  engine: InferenceEngine;
  labels: readonly string[];
  model: LoadedModel & { id: string; weightsSha256: string };
  storeFor(uri: string): ObjectStore;
  logger: Logger;
  metrics?: WorkerMetrics;
  /**
   * What processing a shard means once it is validated and authorised: processShard (fetch,
   * decode, infer, commit) unless replaced. bench/redis-ceiling.ts replaces it with one that makes
   * only processShard's Redis calls, to measure what the queue and the bookkeeping cost Redis.
   */
  processShard?: ShardProcessor;
}

export type ShardProcessor = (job: ShardJob, context: ShardContext) => Promise<ShardOutcome>;

/**
 * One shard job from the queue. Anyone with access to Redis can add a job, so before anything is
 * read or written the job is validated (the payload schema, its id), authorised against the run's
 * record (roots, output, model, the digest of the inputs the shard was enqueued with), then
 * processed unless the shard is done or committed, and counted once.
 */
export async function runShardJob(
  job: Job,
  lease: ShardLease,
  deps: ShardJobDeps,
): Promise<ShardOutcome | { skipped: string }> {
  const shard = parseShardJob(evictionChecked(job));
  if (job.id !== shardJobId(shard.run, shard.shard)) {
    throw new InvalidJobError(
      `job id ${job.id} does not match run ${shard.run} shard ${shard.shard} (expected ${shardJobId(shard.run, shard.shard)}); the job was not made by submit`,
    );
  }
  const record = await deps.registry.get(shard.run);
  if (!record) {
    throw new InvalidJobError(
      `run ${shard.run} is not registered under prefix ${deps.config.QUEUE_PREFIX}; submit it with resnet-batch submit`,
    );
  }
  authorizeShard(shard, record);
  await checkInputsDigest(shard, deps.registry);
  requireLoadedModel(deps.model, `shard ${shard.shard} of run ${shard.run}`, shard.model, shardPrecision(shard));
  requireRecordedWeights(deps.model, record.modelSha256, `run ${shard.run}`);
  if (await deps.registry.isShardDone(shard.run, shard.shard)) return { skipped: 'already done' };

  // The run's first start goes into the commit marker, for a resume in a new Redis to keep it.
  const startedAt = await deps.registry.markStarted(shard.run);
  const runStartedAt = record.firstStartedAt ?? startedAt;
  const context = { ...shardContext(job, shard.shard, record, lease, deps), runStartedAt };
  const outcome = await (deps.processShard ?? processShard)(shard, context);
  // Counting is exactly-once by itself (RunRegistry.completeShard), so a worker that lost the lock
  // after its commit may still count the shard: the counts come from the commit on storage.
  const { runComplete } = await deps.registry.completeShard(shard.run, shard.shard, outcome, deps.engine.name);
  await deps.activity.endShard(shard.run, shard.shard);
  deps.logger.info(
    {
      run: shard.run,
      shard: shard.shard,
      ok: outcome.ok,
      error: outcome.error,
      alreadyCommitted: outcome.alreadyCommitted,
    },
    'shard done',
  );
  if (runComplete) await enqueueFinalizer(deps.queue, deps.registry, shard.run, deps.config);
  return outcome;
}

function shardContext(job: Job, shardIndex: number, record: RunRecord, lease: ShardLease, deps: ShardJobDeps) {
  return {
    engine: deps.engine,
    labels: deps.labels,
    modelId: deps.model.id,
    storeFor: deps.storeFor,
    batchSize: deps.config.BATCH_SIZE,
    maxImageBytes: deps.config.MAX_IMAGE_BYTES,
    fetchTimeoutMs: deps.config.FETCH_TIMEOUT_MS,
    decode: { maxPixels: deps.config.MAX_IMAGE_PIXELS },
    onProgress: progressReporter(job, record.run, shardIndex, deps.activity),
    metrics: deps.metrics,
    carriedColumns: record.carriedColumns,
    lease,
  };
}

/** Reports each batch: the job's progress for bull-board, and the run's activity for `status` and `run`. */
function progressReporter(job: Job, run: string, shard: number, activity: RunActivity) {
  let reported = 0;
  return async (done: number, total: number): Promise<void> => {
    // The run's activity first: whoever sees the job's progress can then count on the run's too.
    if (done > reported) await activity.recordBatch(run, shard, done, done - reported);
    await job.updateProgress(Math.round((done / total) * 100));
    reported = done;
  };
}

/**
 * A shard job whose payload is gone: its Redis key lost the data field to eviction (a Redis with
 * a maxmemory-policy other than noeviction, under memory pressure). Said as such, not as a
 * malformed payload, so the operator fixes the Redis rather than looking for a forger.
 */
function evictionChecked(job: Job): unknown {
  const data: unknown = job.data;
  if (data === undefined || data === null || (typeof data === 'object' && Object.keys(data).length === 0)) {
    throw new InvalidJobError(
      `job ${job.id} has no payload left in Redis: it was evicted (set maxmemory-policy noeviction on the Redis; the shard must be submitted again, resnet-batch submit with the same --run)`,
    );
  }
  return data;
}

/**
 * The job names the inputs the shard was enqueued with (RunRegistry.recordShardDigest). The
 * producer records every shard's digest before adding its job, so a shard index with none
 * (beyond the run's shards, or never listed) was not made by this code, and is not processed.
 */
async function checkInputsDigest(shard: ShardJob, registry: RunRegistry): Promise<void> {
  const recorded = await registry.shardDigest(shard.run, shard.shard);
  if (recorded === null) {
    throw new InvalidJobError(
      `shard ${shard.shard} of run ${shard.run} was never made by the run's listing (no inputs digest recorded for it); the job was not made by submit`,
    );
  }
  if (recorded !== shardDigest(shard.images)) {
    throw new InvalidJobError(
      `shard ${shard.shard} of run ${shard.run} names other images than submit enqueued for it (digest ${recorded.slice(0, 12)}); the job was not made by submit`,
    );
  }
}
