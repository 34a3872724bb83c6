import { type Job, Queue, QueueEvents, type Telemetry, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { type PipelineConfig, SHARD_QUEUE_NAME } from '../shared/config.ts';
import { ResnetBatchError } from '../shared/errors.ts';
import type { InferenceEngine } from '../shared/inference/engine.ts';
import type { Logger } from '../shared/observability/logger.ts';
import { toBullmqError } from '../shared/queue/job-outcome.ts';
import {
  FINALIZE_JOB_NAME,
  finalizeJobId,
  parseFinalizeJob,
  parseShardJob,
  SHARD_JOB_NAME,
  type ShardJob,
  shardJobId,
  shardOfJobId,
} from '../shared/queue/job-payload.ts';
import { connectRedis, type RedisGiveUp, requireNoEviction } from '../shared/queue/redis-connection.ts';
import { enqueueFinalizer } from '../shared/run/enqueue-finalizer.ts';
import { RunActivity } from '../shared/run/run-activity.ts';
import { RunRegistry } from '../shared/run/run-registry.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import { finalizeRun, type ModelIdentity } from './finalize-run.ts';
import { type LoadedModel, requireLoadedModel } from './loaded-model.ts';
import { LockLostError, type ShardLease } from './shard-commit.ts';
import { runShardJob, type ShardProcessor } from './shard-job.ts';
import type { WorkerMetrics } from './worker-metrics.ts';

export interface ShardWorkerOptions {
  redisUrl: string;
  config: PipelineConfig;
  engine: InferenceEngine;
  labels: readonly string[];
  model: Omit<ModelIdentity, 'embeddingSize'> & LoadedModel;
  storeFor(uri: string): ObjectStore;
  logger: Logger;
  /** Counts images, timings and shard outcomes for /metrics. Default none. */
  metrics?: WorkerMetrics;
  /** BullMQ tracing (shared/observability/telemetry.ts queueTelemetry). Default none. */
  telemetry?: Telemetry;
  /**
   * Shards processed at once, sharing the one engine (its calls take turns, engine-turns.ts).
   * Default 1. The worker command uses 2: the next shard fetches and decodes while the last one's
   * final batch runs and its outputs upload. The cost: a crash loses every shard in flight, so a
   * poison shard can take a neighbour towards its stalled limit too (RELIABILITY.md).
   */
  concurrency?: number;
  /** When to give up on an unreachable Redis (shared/queue/redis-connection.ts); default never. */
  redisGiveUp?: RedisGiveUp;
  /** Called once the worker takes shards, right after it logs "worker ready". */
  onReady?: () => void;
  /** Replaces the processing of a validated shard (see ShardJobDeps.processShard); benchmarks only. */
  processShard?: ShardProcessor;
}

/**
 * A worker process's consumer of the shard queue: `concurrency` shards at a time over one engine
 * (the engine already uses every core; parallelism across engines comes from more workers),
 * finaliser jobs in between.
 *
 * Crash safety comes from BullMQ's lock: a shard is locked for SHARD_LOCK_MS and renewed while it
 * runs; if the process dies, the lock expires, another worker's stalled check puts the shard back,
 * and after MAX_STALLED losses it is failed as poison. Results are counted once per shard (see
 * RunRegistry.completeShard), so a shard processed twice never double-counts.
 */
export class ShardWorker {
  private readonly connection: Redis;
  /** Every connection this worker opened. BullMQ never closes a connection it was handed (it
   * counts it as shared), so close() must, or the process cannot exit after SIGTERM. */
  private readonly connections: Redis[] = [];
  private readonly registry: RunRegistry;
  private readonly activity: RunActivity;
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly worker: Worker;
  private abandoned = false;

  constructor(private readonly options: ShardWorkerOptions) {
    const { config, logger } = options;
    const connect = (): Redis => {
      const connection = connectRedis(options.redisUrl, logger, {}, options.redisGiveUp);
      this.connections.push(connection);
      return connection;
    };
    this.connection = connect();
    this.registry = new RunRegistry(this.connection, config.QUEUE_PREFIX);
    this.activity = new RunActivity(this.connection, config.QUEUE_PREFIX);
    this.queue = new Queue(SHARD_QUEUE_NAME, {
      connection: connect(),
      prefix: config.QUEUE_PREFIX,
      telemetry: options.telemetry,
    });
    this.events = new QueueEvents(SHARD_QUEUE_NAME, { connection: connect(), prefix: config.QUEUE_PREFIX });
    this.events.on('failed', ({ jobId, failedReason }) => void this.recordFailure(jobId, failedReason));
    this.worker = new Worker(SHARD_QUEUE_NAME, (job, token, signal) => this.process(job, token, signal), {
      connection: connect(),
      prefix: config.QUEUE_PREFIX,
      concurrency: options.concurrency ?? 1,
      lockDuration: config.SHARD_LOCK_MS,
      stalledInterval: Math.max(1000, Math.floor(config.SHARD_LOCK_MS / 2)),
      maxStalledCount: config.MAX_STALLED,
      autorun: false,
      telemetry: options.telemetry,
    });
    this.worker.on('error', (error) => {
      if (!this.abandoned) logger.warn({ err: error.message }, 'queue error');
    });
    // Without a listener BullMQ prints these raw on stderr; the connections log the outage already.
    this.queue.on('error', (error) => logger.debug({ err: error.message }, 'queue error'));
    this.events.on('error', (error) => logger.debug({ err: error.message }, 'queue events error'));
    // A lock that could not be renewed may already be another worker's: stop that shard at once
    // (its processor sees the abort between batches and before every write) instead of finishing
    // work that would be thrown away, or worse, written over the new owner's.
    this.worker.on('lockRenewalFailed', (jobIds) => {
      for (const jobId of jobIds) {
        logger.warn({ job: jobId }, 'could not renew the lock of a shard; abandoning it to whoever takes it over');
        this.worker.cancelJob(jobId, 'lock renewal failed');
      }
    });
    this.worker.on('failed', (job, error) =>
      logger.warn({ job: job?.id, attempt: job?.attemptsMade, err: error.message }, 'shard attempt failed'),
    );
  }

  /** Starts consuming. Resolves when the worker is closed. */
  async run(): Promise<void> {
    try {
      await requireNoEviction(this.connection, this.options.logger);
    } catch (error) {
      await this.close(true);
      throw error;
    }
    await this.events.waitUntilReady();
    this.options.logger.info({ engine: this.options.engine.name, model: this.options.model.id }, 'worker ready');
    this.options.onReady?.();
    await this.worker.run();
  }

  /**
   * Stops taking shards. The shard in progress is finished (BullMQ waits for it) unless `force`,
   * in which case its lock is released by expiry and it goes back to the queue.
   */
  async close(force = false): Promise<void> {
    await this.worker.close(force);
    await Promise.all([this.events.close(), this.queue.close()]);
    for (const connection of this.connections) connection.disconnect();
  }

  /**
   * Gives the shards in progress back without waiting for them: every connection is dropped at
   * once, so their locks are no longer renewed and expire (SHARD_LOCK_MS), and a worker's stalled
   * check puts them back in the queue. The shard code still running finds Redis closed and fails;
   * nothing it could still write counts. For a worker that must go now (a second signal, its
   * parent gone): BullMQ's close(true) after a close() waits for the shard like the first.
   */
  abandon(): void {
    this.abandoned = true;
    for (const connection of this.connections) connection.disconnect();
    void this.worker.close(true).catch(() => undefined);
  }

  private async process(job: Job, token: string | undefined, signal: AbortSignal | undefined): Promise<unknown> {
    try {
      if (job.name === FINALIZE_JOB_NAME) return await this.finalize(job);
      const outcome = await runShardJob(job, this.lease(job, token, signal), {
        config: this.options.config,
        registry: this.registry,
        activity: this.activity,
        queue: this.queue,
        engine: this.options.engine,
        labels: this.options.labels,
        model: this.options.model,
        storeFor: this.options.storeFor,
        logger: this.options.logger,
        ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
        ...(this.options.processShard ? { processShard: this.options.processShard } : {}),
      });
      this.options.metrics?.recordShard('ok');
      return outcome;
    } catch (error) {
      if (job.name !== FINALIZE_JOB_NAME)
        this.options.metrics?.recordShard('error', error instanceof ResnetBatchError ? error.code : 'UNEXPECTED');
      if (error instanceof LockLostError) {
        this.options.logger.warn(
          { job: job.id, err: error.message },
          'shard abandoned: the lock was lost, nothing more of it is written',
        );
      }
      throw toBullmqError(error);
    }
  }

  /**
   * This worker's hold on a job (worker/shard-commit.ts ShardLease): BullMQ's lock, extended
   * atomically only for the token that took the job, and the abort signal BullMQ gives the
   * processor, which this worker fires when a lock renewal fails (see the constructor).
   */
  private lease(job: Job, token: string | undefined, signal: AbortSignal | undefined): ShardLease {
    const lockMs = this.options.config.SHARD_LOCK_MS;
    const what = `shard job ${job.id}`;
    return {
      signal: signal ?? new AbortController().signal,
      confirm: async () => {
        if (signal?.aborted || token === undefined || (await job.extendLock(token, lockMs)) !== 1)
          throw new LockLostError(what);
      },
    };
  }

  private async finalize(job: Job): Promise<unknown> {
    // The manifest names the finalising worker's model: only a worker of the run's model may write it.
    const { run } = parseFinalizeJob(job.data);
    const record = await this.registry.get(run);
    if (record) requireLoadedModel(this.options.model, `the manifest of run ${run}`, record.model, record.precision);
    const model = { ...this.options.model, embeddingSize: this.options.engine.embeddingSize };
    const manifest = await finalizeRun(job, this.registry, this.options.storeFor, model, this.options.logger);
    this.options.logger.info(
      { run: manifest.run, images: manifest.images, shards: manifest.shards },
      'run finished; manifest written',
    );
    return { manifest: true };
  }

  /**
   * A job failed for good (attempts spent, unrecoverable, or stalled too often). Every worker hears
   * the event; recording it is idempotent, and so is the finaliser's job id. Only a job whose
   * payload is a valid shard or finaliser of its run under the id the pipeline gives it counts:
   * a forged job that failed as INVALID_JOB names nothing of a run.
   *   - a shard: recorded as failed; when that accounts for the run's last shard, the finaliser
   *     is enqueued (the manifest then lists the failed shards);
   *   - the finaliser: the run stays unfinished and records why, so `status` and `run` say
   *     "finalising failed" instead of waiting for ever, and `retry` enqueues it again.
   */
  private async recordFailure(jobId: string, reason: string): Promise<void> {
    try {
      const job = await this.queue.getJob(jobId);
      if (!job || (await job.getState()) !== 'failed') return;
      if (job.name === FINALIZE_JOB_NAME) return await this.recordFinalizeFailure(job, reason);
      if (job.name !== SHARD_JOB_NAME) return;
      const shard = await this.failedShardOf(jobId, job.data);
      if (shard === null) return;
      const complete = await this.registry.failShard(shard.run, shard.shard);
      await this.activity.endShard(shard.run, shard.shard);
      this.options.logger.error({ run: shard.run, shard: shard.shard, reason }, 'shard failed for good');
      if (complete) await enqueueFinalizer(this.queue, this.registry, shard.run, this.options.config);
    } catch (error) {
      this.options.logger.warn({ jobId, err: (error as Error).message }, 'could not record a failed job');
    }
  }

  /**
   * The shard a failed job accounts for: its payload's, under the id the pipeline gives it; or,
   * when the payload fails the schema (damaged or forged in Redis), the shard its id names if
   * that run is registered, so the run ends with the shard failed instead of waiting for ever.
   * Indices the run does not have never count (RunRegistry.failShard).
   */
  private async failedShardOf(jobId: string, data: unknown): Promise<{ run: string; shard: number } | null> {
    let shard: ShardJob;
    try {
      shard = parseShardJob(data);
    } catch {
      const named = shardOfJobId(jobId);
      return named !== null && (await this.registry.get(named.run)) !== null ? named : null;
    }
    return jobId === shardJobId(shard.run, shard.shard) ? shard : null;
  }

  private async recordFinalizeFailure(job: Job, reason: string): Promise<void> {
    let finalize: { run: string; generation: number };
    try {
      finalize = parseFinalizeJob(job.data);
    } catch {
      return;
    }
    if (job.id !== finalizeJobId(finalize.run, finalize.generation)) return;
    if (finalize.generation !== (await this.registry.generation(finalize.run))) return;
    // A finaliser refused as INVALID_JOB came early or from outside (a forged one); the real one
    // follows when the run is complete (shared/run/enqueue-finalizer.ts).
    if (/^INVALID_JOB\b/.test(reason)) return;
    await this.registry.recordFinalizeFailure(finalize.run, reason);
    this.options.logger.error(
      { run: finalize.run, reason },
      'finalising the run failed for good; resnet-batch retry enqueues it again',
    );
  }
}
