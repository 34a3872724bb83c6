import { type Dashboard, startDashboard } from '../../ops/dashboard/dashboard-command.ts';
import { teardown } from './set-up-scope.ts';

/** The basic-auth credentials the dashboard tests configure. */
export const DASHBOARD_CREDENTIALS = { user: 'ops', password: 'correct horse battery staple' };

/** An Authorization header for basic auth. */
export function basicAuth(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

/**
 * `resnet-batch dashboard` servers for a file or describe block, on loopback and a port of their
 * own, closed after its tests (before the Redis they read). The returned function starts one on
 * queue prefix `prefix`, with DASHBOARD_CREDENTIALS when `withAuth`.
 */
export function useDashboards(redis: {
  readonly url: string;
}): (prefix: string, withAuth: boolean) => Promise<Dashboard> {
  const dashboards: Dashboard[] = [];
  teardown(() => Promise.all(dashboards.map((dashboard) => dashboard.close())));
  return async (prefix, withAuth) => {
    const dashboard = await startDashboard({
      redisUrl: redis.url,
      prefix,
      host: '127.0.0.1',
      port: 0,
      credentials: withAuth ? DASHBOARD_CREDENTIALS : undefined,
    });
    dashboards.push(dashboard);
    return dashboard;
  };
}
