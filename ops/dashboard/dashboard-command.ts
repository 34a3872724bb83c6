import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serve } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Queue } from 'bullmq';
import { Hono } from 'hono';
import { configFromEnv, SHARD_QUEUE_NAME } from '../../shared/config.ts';
import { ConfigError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/observability/logger.ts';
import { connectRedis, reachableRedisUrl } from '../../shared/queue/redis-connection.ts';
import { RunActivity } from '../../shared/run/run-activity.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import { basicAuth, type DashboardCredentials, dashboardCredentials, guardWrites } from './dashboard-auth.ts';
import { listRuns, renderRunsPage } from './runs-page.ts';

export interface DashboardOptions {
  redisUrl: string;
  /** QUEUE_PREFIX of the queue and run records to show. */
  prefix: string;
  /** Address to bind. Check it with dashboardCredentials first (dashboardCommand does). */
  host: string;
  /** TCP port; 0 lets the OS pick one (tests). */
  port: number;
  /** Required on every request when given. */
  credentials?: DashboardCredentials | undefined;
}

export interface Dashboard {
  /** http://host:port/ */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Where bull-board lives; the run list is at /runs and /runs.json, and / redirects to /runs. */
export const QUEUES_PATH = '/queues';

/**
 * The dashboard: bull-board for the shard queue plus the run list, behind basic auth when
 * credentials are given. Served by Hono on @hono/node-server: the smallest bull-board adapter
 * that runs on Node 20 (Hono has no dependencies; Express 5 brings about 30 packages).
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const redis = connectRedis(options.redisUrl);
  // BullMQ leaves a connection it was given open on close(), so this one is closed here.
  const queueConnection = connectRedis(options.redisUrl);
  const queue = new Queue(SHARD_QUEUE_NAME, { connection: queueConnection, prefix: options.prefix });
  const release = async (): Promise<void> => {
    await queue.close();
    queueConnection.disconnect();
    redis.disconnect();
  };
  const registry = new RunRegistry(redis, options.prefix);
  const activity = new RunActivity(redis, options.prefix);

  const board = new HonoAdapter(serveStatic);
  board.setBasePath(QUEUES_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(queue)],
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'resnet-batch' } },
  });

  const app = new Hono();
  if (options.credentials) app.use('*', basicAuth(options.credentials));
  app.use('*', guardWrites(options.credentials));
  app.get('/', (c) => c.redirect('/runs'));
  app.get('/runs.json', async (c) => c.json(await listRuns(registry, activity)));
  app.get('/runs', async (c) => c.html(renderRunsPage(await listRuns(registry, activity), QUEUES_PATH)));
  app.route(QUEUES_PATH, board.registerPlugin());

  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, () => resolve(started));
    started.once('error', reject);
  }).catch(async (error: unknown) => {
    await release();
    throw new ConfigError(
      `cannot listen on ${options.host}:${options.port} (${String(error)}); pick another --port or --host`,
    );
  });
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${hostInUrl}:${port}/`,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Browsers and fetch keep connections alive; without this close() waits for them to time out.
      if ('closeAllConnections' in server) server.closeAllConnections();
      await closed;
      await release();
    },
  };
}

/**
 * `resnet-batch dashboard`: refuses an unprotected non-loopback address before connecting to
 * anything, then serves until SIGINT or SIGTERM.
 */
export async function dashboardCommand(options: { host: string; port: number }): Promise<number> {
  const config = configFromEnv();
  const credentials = dashboardCredentials(options.host, config);
  const redisUrl = await reachableRedisUrl(config.REDIS_URL, 'the dashboard shows the Redis the workers use');
  const logger = createLogger('dashboard');
  const dashboard = await startDashboard({
    redisUrl: redisUrl,
    prefix: config.QUEUE_PREFIX,
    host: options.host,
    port: options.port,
    credentials,
  });
  logger.info({ url: dashboard.url, auth: credentials !== undefined }, 'dashboard listening');
  process.stderr.write(
    `dashboard: ${dashboard.url} (runs at /runs, queue at ${QUEUES_PATH})${credentials ? '' : ' without authentication'}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await dashboard.close();
  return 0;
}
