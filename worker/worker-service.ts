import type { PipelineConfig } from '../shared/config.ts';
import type { EngineChoice, InferenceEngine } from '../shared/inference/engine.ts';
import { resolveModelRef } from '../shared/inference/model-ref.ts';
import type { Precision } from '../shared/inference/precision.ts';
import type { Logger } from '../shared/observability/logger.ts';
import type { NULL_ENGINE_CHOICE } from './engines/open-engine.ts';
import { openEngineInThread } from './engines/threaded-engine.ts';
import type { ShardWorker } from './shard-worker.ts';
import { type ThreadCounts, threadCounts } from './thread-counts.ts';
import { type WorkerHealth, warmUpEngine } from './worker-health.ts';
import { startObservability } from './worker-observability.ts';

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
  /** The engine once opened: released first, before the closing list. */
  private engine: InferenceEngine | undefined;
  /** The warm-up failed: the engine thread may never answer a dispose. */
  private engineBroken = false;
  /** What serve() started besides the engine (tracing, probes, companions), closed on the way out. */
  private readonly closing: Array<() => Promise<unknown> | undefined> = [];

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

  /** The worker's life: open the engine, work until stopped, then release what it held. */
  private async serve(): Promise<void> {
    const threads = threadCounts();
    const opening = this.openEngine(threads);
    try {
      await this.work(opening, threads);
    } finally {
      await this.release(opening);
    }
    if (this.fatal) throw this.fatal;
    this.context.logger.info('worker stopped');
  }

  /** Starts loading the model in its own thread, before anything else. */
  private openEngine(threads: ThreadCounts): Promise<OpenedEngine> {
    const { options, context } = this;
    const { config, logger } = context;
    const opening = openEngineInThread({
      choice: options.engine ?? config.ENGINE,
      modelRef: resolveModelRef(options.model, config),
      precision: options.precision ?? config.PRECISION,
      logger,
      intraOpNumThreads: threads.intraOpNumThreads,
    });
    // Settled here as well: a failure to open is reported once, by work().
    opening.catch(() => undefined);
    return opening;
  }

  /**
   * While the model loads: the libraries, tracing, Redis and the probes; then the shard consumer
   * and the companions until stopped. Returns early when stopped before taking shards.
   */
  private async work(opening: Promise<OpenedEngine>, threads: ThreadCounts): Promise<void> {
    const { options, context } = this;
    const { config, logger } = context;
    const libraries = await loadLibraries(threads, logger);
    const tracing = await libraries.startTracing(config, 'resnet-batch-worker');
    this.closing.push(() => tracing?.shutdown());
    const redisUrl = await context.redisUrl;
    if (this.stopping !== 'no') return;
    // Before the model is loaded, so that /healthz answers (and /readyz says 503) while it loads.
    const observability = await startObservability(
      options.metricsPort ?? config.METRICS_PORT,
      redisUrl,
      config,
      logger,
    );
    this.closing.push(() => observability.close());
    this.health = observability.health;
    const opened = await opening;
    const { engine } = opened;
    this.engine = engine;
    if (this.stopping !== 'no') return;
    observability.metrics?.setEngine(engine.name);
    const batchSize = options.batchSize ?? config.BATCH_SIZE;
    if (observability.health) await this.warmUp(engine, batchSize, observability.health);
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
    this.startCompanions(redisUrl);
    await Promise.race([this.shardWorker.run(), this.forced]);
  }

  /**
   * Readiness is what the warm-up is for: without the probes (the port off, as under `run`)
   * nobody waits on it, and the first shard pays the engine's set-up instead of start-up.
   */
  private async warmUp(engine: InferenceEngine, batchSize: number, health: WorkerHealth): Promise<void> {
    await warmUpEngine(engine, batchSize).catch((error: unknown) => {
      this.engineBroken = true;
      throw error;
    });
    health.markReady();
    this.context.logger.info(
      { engine: engine.name, batchSize },
      'engine warmed up with one batch; /readyz answers 200',
    );
  }

  private startCompanions(redisUrl: string): void {
    const { config, logger } = this.context;
    for (const create of this.context.companions ?? []) {
      const companion = create({ redisUrl, config, logger });
      this.closing.push(() => companion.close());
      companion.start();
    }
  }

  private async release(opening: Promise<OpenedEngine>): Promise<void> {
    // The engine first: ONNX Runtime aborts the process (exit 134) if it exits with a session
    // alive in a thread. An engine that failed to open is disposed by its own thread's exit.
    this.engine ??= await opening.then((opened) => opened.engine).catch(() => undefined);
    // Bounded after a failed warm-up: an engine thread that died with the batch never answers.
    await withinMs(
      this.engine?.dispose() ?? Promise.resolve(),
      this.engineBroken ? ENGINE_DISPOSE_MS : Number.POSITIVE_INFINITY,
    );
    // After a forced stop Redis may be gone, and a close that waits on it would never end.
    const bound = this.stopping === 'force' ? FORCED_CLOSE_MS : Number.POSITIVE_INFINITY;
    await withinMs(Promise.all(this.closing.map((close) => close())), bound);
  }
}

type OpenedEngine = Awaited<ReturnType<typeof openEngineInThread>>;

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
