import { type PipelineConfig, SHARD_QUEUE_NAME } from '../shared/config.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/observability/logger.ts';
import type { WorkerHealth } from './worker-health.ts';
import type { MetricsServer, WorkerMetrics } from './worker-metrics.ts';

/** The probes and metrics of one worker, and how to close them. */
export interface Observability {
  metrics?: WorkerMetrics;
  health?: WorkerHealth;
  server?: MetricsServer;
  close(): Promise<void>;
}

/**
 * The /metrics, /healthz and /readyz server (worker-health.ts) and the queue it reads depth from,
 * whose connection also answers the health PING; nothing at all when the port is 0.
 *
 * A port already taken (two workers on one host with the default 9464, `run --workers N` with
 * METRICS_PORT set) is not fought over: this worker serves on a free port the system picks and
 * logs it as a warning naming both ports, so its metrics are still there to find (a fixed scrape
 * target wants --metrics-port per worker). Any other failure costs the metrics of this worker
 * only, with a warning: a worker never dies for want of its metrics.
 */
export async function startObservability(
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
    const server = await startMetricsServer(metrics.registry, { port }, health.routes).catch((error: unknown) => {
      if ((error as { code?: string }).code !== 'EADDRINUSE') throw error;
      return startMetricsServer(metrics.registry, { port: 0 }, health.routes);
    });
    if (server.port === port) logger.info({ port }, 'metrics, /healthz and /readyz');
    else
      logger.warn(
        { port: server.port, taken: port },
        `metrics port ${port} is taken (another worker on this host?); serving metrics, /healthz and /readyz on port ${server.port} instead (give each worker its own --metrics-port or METRICS_PORT for a fixed scrape target)`,
      );
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
