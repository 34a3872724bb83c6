import { type Job, Queue, QueueEvents, type Telemetry, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { type PipelineConfig, SHARD_QUEUE_NAME } from '../shared/config.ts';
import type { InferenceEngine } from '../shared/engine.ts';
import { enqueueFinalizer } from '../shared/enqueue-finalizer.ts';
import { ResnetBatchError } from '../shared/errors.ts';
import { toBullmqError } from '../shared/job-outcome.ts';
import {
  FINALIZE_JOB_NAME,
  InvalidJobError,
  parseFinalizeJob,
  parseShardJob,
  SHARD_JOB_NAME,
  type ShardJob,
  shardJobId,
  shardPrecision,
} from '../shared/job-payload.ts';
import type { Logger } from '../shared/logger.ts';
import type { Precision } from '../shared/precision.ts';
import { connectRedis, warnOnEvictionPolicy } from '../shared/redis-connection.ts';
import { RunRegistry } from '../shared/run-registry.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import { authorizeShard } from './authorize-shard.ts';
import { finalizeRun, type ModelIdentity } from './finalize-run.ts';
import { processShard } from './process-shard.ts';
import type { WorkerMetrics } from './worker-metrics.ts';

export interface ShardWorkerOptions {
  redisUrl: string;
  config: PipelineConfig;
  engine: InferenceEngine;
  labels: readonly string[];
  model: ModelIdentity & { uri: string; precision: Precision };
  storeFor(uri: string): ObjectStore;
  logger: Logger;
  /** Counts images, timings and shard outcomes for /metrics. Default none. */
  metrics?: WorkerMetrics;
  /** BullMQ tracing (shared/telemetry.ts queueTelemetry). Default none. */
  telemetry?: Telemetry;
  /**
   * Shards processed at once, sharing the one engine (its calls take turns, engine-turns.ts).
   * Default 1. The worker command uses 2: the next shard fetches and decodes while the last one's
   * final batch runs and its outputs upload. The cost: a crash loses every shard in flight, so a
   * poison shard can take a neighbour towards its stalled limit too (RELIABILITY.md).
   */
  concurrency?: number;
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
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly worker: Worker;

  constructor(private readonly options: ShardWorkerOptions) {
    const { config, logger } = options;
    const connect = (): Redis => {
      const connection = connectRedis(options.redisUrl, logger);
      this.connections.push(connection);
      return connection;
    };
    this.connection = connect();
    this.registry = new RunRegistry(this.connection, config.QUEUE_PREFIX);
    this.queue = new Queue(SHARD_QUEUE_NAME, {
      connection: connect(),
      prefix: config.QUEUE_PREFIX,
      telemetry: options.telemetry,
    });
    this.events = new QueueEvents(SHARD_QUEUE_NAME, { connection: connect(), prefix: config.QUEUE_PREFIX });
    this.events.on('failed', ({ jobId, failedReason }) => void this.recordFailure(jobId, failedReason));
    this.worker = new Worker(SHARD_QUEUE_NAME, (job) => this.process(job), {
      connection: connect(),
      prefix: config.QUEUE_PREFIX,
      concurrency: options.concurrency ?? 1,
      lockDuration: config.SHARD_LOCK_MS,
      stalledInterval: Math.max(1000, Math.floor(config.SHARD_LOCK_MS / 2)),
      maxStalledCount: config.MAX_STALLED,
      autorun: false,
      telemetry: options.telemetry,
    });
    this.worker.on('error', (error) => logger.warn({ err: error.message }, 'queue error'));
    this.worker.on('failed', (job, error) =>
      logger.warn({ job: job?.id, attempt: job?.attemptsMade, err: error.message }, 'shard attempt failed'),
    );
  }

  /** Starts consuming. Resolves when the worker is closed. */
  async run(): Promise<void> {
    await warnOnEvictionPolicy(this.connection, this.options.logger);
    await this.events.waitUntilReady();
    this.options.logger.info({ engine: this.options.engine.name, model: this.options.model.id }, 'worker ready');
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

  private async process(job: Job): Promise<unknown> {
    try {
      if (job.name === FINALIZE_JOB_NAME) return await this.finalize(job);
      const outcome = await this.processShardJob(job);
      this.options.metrics?.recordShard('ok');
      return outcome;
    } catch (error) {
      if (job.name !== FINALIZE_JOB_NAME)
        this.options.metrics?.recordShard('error', error instanceof ResnetBatchError ? error.code : 'UNEXPECTED');
      throw toBullmqError(error);
    }
  }

  private async processShardJob(job: Job): Promise<unknown> {
    const shard = parseShardJob(job.data);
    if (job.id !== shardJobId(shard.run, shard.shard)) {
      throw new InvalidJobError(
        `job id ${job.id} does not match run ${shard.run} shard ${shard.shard} (expected ${shardJobId(shard.run, shard.shard)}); the job was not made by submit`,
      );
    }
    const record = await this.registry.get(shard.run);
    if (!record)
      throw new InvalidJobError(
        `run ${shard.run} is not registered under prefix ${this.options.config.QUEUE_PREFIX}; submit it with resnet-batch submit`,
      );
    authorizeShard(shard, record);
    this.checkModel(`shard ${shard.shard} of run ${shard.run}`, shard.model, shardPrecision(shard));
    if (await this.registry.isShardDone(shard.run, shard.shard)) return { skipped: 'already done' };

    await this.registry.markStarted(shard.run);
    const outcome = await processShard(shard, {
      engine: this.options.engine,
      labels: this.options.labels,
      modelId: this.options.model.id,
      storeFor: this.options.storeFor,
      batchSize: this.options.config.BATCH_SIZE,
      maxImageBytes: this.options.config.MAX_IMAGE_BYTES,
      decode: { maxPixels: this.options.config.MAX_IMAGE_PIXELS },
      onProgress: (fraction) => job.updateProgress(Math.round(fraction * 100)),
      metrics: this.options.metrics,
    });
    const { runComplete } = await this.registry.completeShard(
      shard.run,
      shard.shard,
      outcome,
      this.options.engine.name,
    );
    this.options.logger.info(
      { run: shard.run, shard: shard.shard, ok: outcome.ok, error: outcome.error },
      'shard done',
    );
    if (runComplete) await enqueueFinalizer(this.queue, this.registry, shard.run, this.options.config);
    return outcome;
  }

  /**
   * A worker runs one model at one precision, loaded at start; work for another is given back
   * (retryable) for a worker that has it, rather than loading a second engine next to the first:
   * a run's rows never mix models or precisions, and memory stays that of one model.
   */
  private checkModel(what: string, model: string, precision: Precision): void {
    const loaded = this.options.model;
    if (model === loaded.uri && precision === loaded.precision) return;
    throw new ResnetBatchError(
      'MODEL_MISMATCH',
      `${what} needs model ${model} at ${precision}, but this worker loaded ${loaded.uri} at ${loaded.precision}; start workers with --model ${model} --precision ${precision}`,
      { retryable: true },
    );
  }

  private async finalize(job: Job): Promise<unknown> {
    const { run } = parseFinalizeJob(job.data);
    // The manifest names the finalising worker's model: only a worker of the run's model may write it.
    const record = await this.registry.get(run);
    if (record) this.checkModel(`the manifest of run ${run}`, record.model, record.precision);
    const manifest = await finalizeRun(run, this.registry, this.options.storeFor, this.options.model);
    this.options.logger.info(
      { run, images: manifest?.images, shards: manifest?.shards },
      'run finished; manifest written',
    );
    return { manifest: manifest !== null };
  }

  /**
   * A shard failed for good (attempts spent, unrecoverable, or stalled too often). Every worker
   * hears the event; recording it is idempotent, and so is the finaliser's job id. Only a job whose
   * payload is a valid shard of its run under the id submit gives it counts: a forged job that
   * failed as INVALID_JOB names no shard of a run.
   */
  private async recordFailure(jobId: string, reason: string): Promise<void> {
    try {
      const job = await this.queue.getJob(jobId);
      if (!job || job.name !== SHARD_JOB_NAME || (await job.getState()) !== 'failed') return;
      let shard: ShardJob;
      try {
        shard = parseShardJob(job.data);
      } catch {
        return;
      }
      if (jobId !== shardJobId(shard.run, shard.shard)) return;
      const complete = await this.registry.failShard(shard.run, shard.shard);
      this.options.logger.error({ run: shard.run, shard: shard.shard, reason }, 'shard failed for good');
      if (complete) await enqueueFinalizer(this.queue, this.registry, shard.run, this.options.config);
    } catch (error) {
      this.options.logger.warn({ jobId, err: (error as Error).message }, 'could not record shard failure');
    }
  }
}
