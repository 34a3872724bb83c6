import { type PipelineConfig, SHARD_QUEUE_NAME } from '../shared/config.ts';
import { describeError } from '../shared/errors.ts';
import type { EngineChoice, InferenceEngine } from '../shared/inference/engine.ts';
import { resolveModelRef } from '../shared/inference/model-ref.ts';
import type { Precision } from '../shared/inference/precision.ts';
import type { Logger } from '../shared/observability/logger.ts';
import type { NULL_ENGINE_CHOICE } from './engines/open-engine.ts';
import { openEngineInThread } from './engines/threaded-engine.ts';
import type { ShardWorker } from './shard-worker.ts';
import { type ThreadCounts, threadCounts } from './thread-counts.ts';
import { type WorkerHealth, warmUpEngine } from './worker-health.ts';
import type { MetricsServer, WorkerMetrics } from './worker-metrics.ts';

// Only what opens the engine thread is imported up front (see loadLibraries).

export interface WorkerOptions {
  /** Default ENGINE (shared/config.ts). The CLI offers EngineChoice; 'null' (no model) is for bench/ and tests, see open-engine.ts. */
  engine?: EngineChoice | typeof NULL_ENGINE_CHOICE;
  batchSize?: number;
  model?: string;
  /** Port of /metrics; overrides METRICS_PORT (default 9464); 0 turns it off. */
  metricsPort?: number;
  /** Precision of the model this worker runs (`--precision`); default PRECISION (fp32). It takes shards of runs of that precision only. */
  precision?: Precision;
  /** Shards this process works on at once (`--shards-in-flight`); default SHARDS_IN_FLIGHT (shared/config.ts). */
  shardsInFlight?: number;
}

/**
 * Something that runs beside the shard consumer for the life of the worker: bin/cli.ts adds the
 * consumer of fired schedules (schedule/scheduled-run-consumer.ts), so a firing with no worker up
 * waits for the first one. Injected, so that worker/ does not import the roles above it.
 */
export interface WorkerCompanion {
  start(): void;
  close(): Promise<void>;
}

export type WorkerCompanionFactory = (context: {
  redisUrl: string;
  config: PipelineConfig;
  logger: Logger;
}) => WorkerCompanion;

export interface WorkerContext {
  config: PipelineConfig;
  logger: Logger;
  /**
   * The Redis to take shards from, or a promise of it: the model loads meanwhile (`run` starts its
   * worker while its own Redis starts and the input is listed).
   */
  redisUrl: string | Promise<string>;
  /** Give up on Redis after this many ms unreachable (REDIS_UNREACHABLE_MS); 0 never. */
  redisUnreachableMs: number;
  companions?: readonly WorkerCompanionFactory[];
}

/** A worker at work, in this process: what `resnet-batch worker` and `run`'s own worker drive. */
export interface RunningWorker {
  /** Resolves once the model is loaded and shards are being taken ("worker ready"). */
  readonly ready: Promise<void>;
  /**
   * Settles once the worker has stopped and released its engine, connections and servers:
   * resolves after stop(), rejects when it could not start or gave up (REDIS_UNREACHABLE).
   */
  readonly stopped: Promise<void>;
  /**
   * Takes no new shards. The shards in progress finish; with `force` they are given back at once
   * (their locks expire and another worker takes them). A forced call after a graceful one
   * escalates it; a call while the model is still loading stops the worker before it takes any.
   */
  stop(force?: boolean): void;
}

/** Loads the model (in an engine thread) and consumes shards until stopped. */
export function startWorker(options: WorkerOptions, context: WorkerContext): RunningWorker {
  return new WorkerService(options, context);
}

class WorkerService implements RunningWorker {
  readonly ready: Promise<void>;
  readonly stopped: Promise<void>;
  private markReady: () => void = () => undefined;
  /** Resolves on a forced stop: the shards in progress are abandoned, not awaited. */
  private readonly forced: Promise<void>;
  private markForced: () => void = () => undefined;
  private shardWorker: ShardWorker | undefined;
  /** The /healthz and /readyz state, when the metrics port is on. */
  private health: WorkerHealth | undefined;
  private stopping: 'no' | 'graceful' | 'force' = 'no';
  private fatal: Error | undefined;

  constructor(
    private readonly options: WorkerOptions,
    private readonly context: WorkerContext,
  ) {
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    this.forced = new Promise((resolve) => {
      this.markForced = resolve;
    });
    this.stopped = this.serve();
    // A worker stopped before it was ready never becomes ready: callers wait on both with a race.
    this.stopped.catch(() => undefined);
  }

  stop(force = false): void {
    if (this.stopping === 'force' || (this.stopping === 'graceful' && !force)) return;
    this.stopping = force ? 'force' : 'graceful';
    this.health?.markStopping();
    if (force) {
      this.shardWorker?.abandon();
      this.markForced();
    } else {
      void this.shardWorker?.close();
    }
  }

  private giveUp(error: Error): void {
    this.fatal ??= error;
    this.stop(true);
  }

  private async serve(): Promise<void> {
    const { options, context } = this;
    const { config, logger } = context;
    const threads = threadCounts();
    const opening = openEngineInThread({
      choice: options.engine ?? config.ENGINE,
      modelRef: resolveModelRef(options.model, config),
      precision: options.precision ?? config.PRECISION,
      logger,
      intraOpNumThreads: threads.intraOpNumThreads,
    });
    // Settled here as well: a failure to open is reported once, below.
    opening.catch(() => undefined);
    let engine: InferenceEngine | undefined;
    let engineBroken = false;
    const closing: Array<() => Promise<unknown> | undefined> = [];
    try {
      const libraries = await loadLibraries(threads, logger);
      const tracing = await libraries.startTracing(config, 'resnet-batch-worker');
      closing.push(() => tracing?.shutdown());
      const redisUrl = await context.redisUrl;
      if (this.stopping !== 'no') return;
      // Before the model is loaded, so that /healthz answers (and /readyz says 503) while it loads.
      const observability = await startObservability(
        options.metricsPort ?? config.METRICS_PORT,
        redisUrl,
        config,
        logger,
      );
      closing.push(() => observability.close());
      this.health = observability.health;
      const opened = await opening;
      engine = opened.engine;
      if (this.stopping !== 'no') return;
      observability.metrics?.setEngine(engine.name);
      const batchSize = options.batchSize ?? config.BATCH_SIZE;
      if (observability.health) {
        // Readiness is what the warm-up is for: without the probes (the port off, as under `run`)
        // nobody waits on it, and the first shard pays the engine's set-up instead of start-up.
        await warmUpEngine(engine, batchSize).catch((error: unknown) => {
          engineBroken = true;
          throw error;
        });
        observability.health.markReady();
        logger.info({ engine: engine.name, batchSize }, 'engine warmed up with one batch; /readyz answers 200');
      }
      this.shardWorker = new libraries.ShardWorker({
        redisUrl,
        config: { ...config, BATCH_SIZE: batchSize },
        engine,
        labels: opened.model.labels,
        model: opened.model,
        storeFor: (uri) => libraries.openStore(uri),
        logger,
        concurrency: options.shardsInFlight ?? config.SHARDS_IN_FLIGHT,
        redisGiveUp: { afterMs: context.redisUnreachableMs, onGiveUp: (error) => this.giveUp(error) },
        onReady: () => this.markReady(),
        ...(observability.metrics ? { metrics: observability.metrics } : {}),
        ...libraries.queueTelemetry(tracing),
      });
      if (this.stopping !== 'no') return this.shardWorker.abandon();
      for (const create of context.companions ?? []) {
        const companion = create({ redisUrl, config, logger });
        closing.push(() => companion.close());
        companion.start();
      }
      await Promise.race([this.shardWorker.run(), this.forced]);
    } finally {
      // The engine first: ONNX Runtime aborts the process (exit 134) if it exits with a session
      // alive in a thread. An engine that failed to open is disposed by its own thread's exit.
      engine ??= await opening.then((opened) => opened.engine).catch(() => undefined);
      // Bounded after a failed warm-up: an engine thread that died with the batch never answers.
      await withinMs(
        engine?.dispose() ?? Promise.resolve(),
        engineBroken ? ENGINE_DISPOSE_MS : Number.POSITIVE_INFINITY,
      );
      // After a forced stop Redis may be gone, and a close that waits on it would never end.
      const bound = this.stopping === 'force' ? FORCED_CLOSE_MS : Number.POSITIVE_INFINITY;
      await withinMs(Promise.all(closing.map((close) => close())), bound);
    }
    if (this.fatal) throw this.fatal;
    logger.info('worker stopped');
  }
}

/** After a failed warm-up, how long disposing the engine may take. Milliseconds. */
const ENGINE_DISPOSE_MS = 5_000;

/** After a forced stop, how long closing the metrics server, tracing and companions may take. Milliseconds. */
const FORCED_CLOSE_MS = 2_000;

/** Waits for `work`, but no longer than `ms`. */
async function withinMs(work: Promise<unknown>, ms: number): Promise<void> {
  if (!Number.isFinite(ms)) return void (await work);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/**
 * BullMQ, sharp, the stores and tracing: imported here rather than at the top of the file, so
 * that they load while the engine thread loads the model, each on its own core.
 */
async function loadLibraries(threads: ThreadCounts, logger: Logger) {
  const [{ default: sharp }, { ShardWorker }, { openStore }, { queueTelemetry, startTracing }] = await Promise.all([
    import('sharp'),
    import('./shard-worker.ts'),
    import('../shared/storage/open-store.ts'),
    import('../shared/observability/telemetry.ts'),
  ]);
  sharp.concurrency(threads.sharpConcurrency);
  // sharp caches operations for inputs it sees again; a worker never decodes the same bytes twice.
  sharp.cache(false);
  logger.info(threads, 'thread counts (worker/thread-counts.ts)');
  if (threads.uvThreadpoolSize < threads.recommendedUvThreadpoolSize) {
    logger.warn(
      { uvThreadpoolSize: threads.uvThreadpoolSize },
      `the libuv pool limits concurrent decodes; start the worker with UV_THREADPOOL_SIZE=${threads.recommendedUvThreadpoolSize}`,
    );
  }
  return { ShardWorker, openStore, queueTelemetry, startTracing };
}

interface Observability {
  metrics?: WorkerMetrics;
  health?: WorkerHealth;
  server?: MetricsServer;
  close(): Promise<void>;
}

/**
 * The /metrics, /healthz and /readyz server (worker-health.ts) and the queue it reads depth from,
 * whose connection also answers the health PING; nothing at all when the port is 0.
 * A port already taken (several local workers, `run --workers N`, on one default port) costs the
 * metrics of this worker only, with a warning: a worker never dies for want of its metrics.
 */
async function startObservability(
  port: number,
  redisUrl: string,
  config: PipelineConfig,
  logger: Logger,
): Promise<Observability> {
  if (port === 0) return { close: async () => undefined };
  const [{ Queue }, { connectRedis }, { createWorkerMetrics, startMetricsServer }, { createWorkerHealth }] =
    await Promise.all([
      import('bullmq'),
      import('../shared/queue/redis-connection.ts'),
      import('./worker-metrics.ts'),
      import('./worker-health.ts'),
    ]);
  // A connection of its own that gives up on a command during an outage, so a scrape times out
  // cleanly instead of piling commands up behind the worker's (which wait forever by design).
  // BullMQ leaves a connection it was handed open on close(): closeQueue drops it too, or the
  // process could not exit after SIGTERM.
  const connection = connectRedis(redisUrl, undefined, { maxRetriesPerRequest: 1 });
  const queue = new Queue(SHARD_QUEUE_NAME, { connection, prefix: config.QUEUE_PREFIX });
  const closeQueue = async (): Promise<void> => {
    await queue.close();
    connection.disconnect();
  };
  queue.on('error', () => undefined);
  const metrics = createWorkerMetrics({ queue });
  const health = createWorkerHealth({ ping: () => connection.ping() });
  try {
    const server = await startMetricsServer(metrics.registry, { port }, health.routes);
    logger.info({ port: server.port }, 'metrics, /healthz and /readyz');
    return { metrics, health, server, close: async () => void (await Promise.all([server.close(), closeQueue()])) };
  } catch (error) {
    await closeQueue();
    logger.warn(
      { port, err: describeError(error) },
      'cannot serve metrics on this port; metrics are off for this worker (set --metrics-port or METRICS_PORT to a free port, or 0)',
    );
    return { close: async () => undefined };
  }
}
