import { Queue } from 'bullmq';
import sharp from 'sharp';
import { configFromEnv, type PipelineConfig, SHARD_QUEUE_NAME } from '../shared/config.ts';
import type { EngineChoice } from '../shared/engine.ts';
import { describeError } from '../shared/errors.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import { resolveModelUri } from '../shared/model-ref.ts';
import type { Precision } from '../shared/precision.ts';
import { connectRedis, reachableRedisUrl } from '../shared/redis-connection.ts';
import { openStore } from '../shared/storage/open-store.ts';
import { queueTelemetry, startTracing } from '../shared/telemetry.ts';
import type { NULL_ENGINE_CHOICE } from './engines/open-engine.ts';
import { openEngineInThread } from './engines/threaded-engine.ts';
import { ShardWorker } from './shard-worker.ts';
import { threadCounts } from './thread-counts.ts';
import { createWorkerMetrics, type MetricsServer, startMetricsServer, type WorkerMetrics } from './worker-metrics.ts';

export interface WorkerCommandOptions {
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
 * Something that runs beside the shard consumer for the life of the worker process: bin/cli.ts
 * adds the consumer of fired schedules (schedule/scheduled-run-consumer.ts), so a firing with no
 * worker up waits for the first one. Injected, so that worker/ does not import the roles above it.
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

/**
 * `resnet-batch worker`: validates configuration, loads the model once, then consumes shards
 * until SIGTERM or SIGINT. The first signal stops taking shards and lets the current one finish
 * (exit 0); a second signal gives the current shard back (its lock expires and another worker
 * takes it) and exits at once.
 */
export async function workerCommand(
  options: WorkerCommandOptions,
  companionFactories: readonly WorkerCompanionFactory[] = [],
): Promise<number> {
  const config = configFromEnv();
  const logger = createLogger('worker');
  const redisUrl = await reachableRedisUrl(
    config.REDIS_URL,
    'workers take shards from Redis (or use `resnet-batch run`, which starts its own)',
  );
  const threads = threadCounts();
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

  const tracing = await startTracing(config, 'resnet-batch-worker');
  const { engine, model } = await openEngineInThread({
    choice: options.engine ?? config.ENGINE,
    modelRef: resolveModelUri(options.model, config),
    precision: options.precision ?? config.PRECISION,
    logger,
    intraOpNumThreads: threads.intraOpNumThreads,
  });
  const observability = await startObservability(
    options.metricsPort ?? config.METRICS_PORT,
    redisUrl,
    config.QUEUE_PREFIX,
    logger,
  );
  observability.metrics?.setEngine(engine.name);
  if (observability.server) logger.info({ port: observability.server.port }, 'metrics on /metrics');
  const worker = new ShardWorker({
    redisUrl,
    config: { ...config, BATCH_SIZE: options.batchSize ?? config.BATCH_SIZE },
    engine,
    labels: model.labels,
    model,
    storeFor: (uri) => openStore(uri),
    logger,
    concurrency: options.shardsInFlight ?? config.SHARDS_IN_FLIGHT,
    ...(observability.metrics ? { metrics: observability.metrics } : {}),
    ...queueTelemetry(tracing),
  });
  const companions = companionFactories.map((create) => create({ redisUrl, config, logger }));
  for (const companion of companions) companion.start();

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: giving the current shard back and exiting');
      void worker.close(true).finally(() => process.exit(0));
      return;
    }
    stopping = true;
    logger.info({ signal }, 'stopping: finishing the current shard, taking no new ones');
    void worker.close();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  await worker.run();
  await Promise.all([
    engine.dispose(),
    observability.close(),
    tracing?.shutdown(),
    ...companions.map((companion) => companion.close()),
  ]);
  logger.info('worker stopped');
  return 0;
}

interface Observability {
  metrics?: WorkerMetrics;
  server?: MetricsServer;
  close(): Promise<void>;
}

/**
 * The /metrics server and the queue it reads depth from; nothing at all when the port is 0.
 * A port already taken (several local workers, `run --workers N`, on one default port) costs the
 * metrics of this worker only, with a warning: a worker never dies for want of its metrics.
 */
async function startObservability(
  port: number,
  redisUrl: string,
  prefix: string,
  logger: Logger,
): Promise<Observability> {
  if (port === 0) return { close: async () => undefined };
  // A connection of its own that gives up on a command during an outage, so a scrape times out
  // cleanly instead of piling commands up behind the worker's (which wait forever by design).
  // BullMQ leaves a connection it was handed open on close(): closeQueue drops it too, or the
  // process could not exit after SIGTERM.
  const connection = connectRedis(redisUrl, undefined, { maxRetriesPerRequest: 1 });
  const queue = new Queue(SHARD_QUEUE_NAME, { connection, prefix });
  const closeQueue = async (): Promise<void> => {
    await queue.close();
    connection.disconnect();
  };
  queue.on('error', () => undefined);
  const metrics = createWorkerMetrics({ queue });
  try {
    const server = await startMetricsServer(metrics.registry, { port });
    return { metrics, server, close: async () => void (await Promise.all([server.close(), closeQueue()])) };
  } catch (error) {
    await closeQueue();
    logger.warn(
      { port, err: describeError(error) },
      'cannot serve metrics on this port; metrics are off for this worker (set --metrics-port or METRICS_PORT to a free port, or 0)',
    );
    return { close: async () => undefined };
  }
}
