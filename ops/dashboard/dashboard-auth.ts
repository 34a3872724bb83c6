import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { MiddlewareHandler } from 'hono';
import { ConfigError } from '../../shared/errors.ts';

/**
 * Who may use the dashboard. bull-board can retry, promote and delete jobs, so anything reachable
 * from another host must be behind credentials; on loopback they are optional (the host's users
 * can reach Redis directly anyway).
 */
export interface DashboardCredentials {
  user: string;
  password: string;
}

/** 127.0.0.0/8, ::1 and the name localhost: addresses other hosts cannot connect to. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./i.test(bare);
  return false;
}

/**
 * The credentials from DASHBOARD_USER and DASHBOARD_PASSWORD, checked against where the dashboard
 * binds, before anything listens: a half-set pair, or none on a non-loopback address, is refused.
 */
export function dashboardCredentials(
  host: string,
  env: { DASHBOARD_USER?: string | undefined; DASHBOARD_PASSWORD?: string | undefined },
): DashboardCredentials | undefined {
  const { DASHBOARD_USER: user, DASHBOARD_PASSWORD: password } = env;
  if ((user === undefined) !== (password === undefined)) {
    throw new ConfigError(
      `only one of DASHBOARD_USER and DASHBOARD_PASSWORD is set (expected both or neither); set ${user === undefined ? 'DASHBOARD_USER' : 'DASHBOARD_PASSWORD'} too`,
    );
  }
  if (user !== undefined && password !== undefined) return { user, password };
  if (!isLoopback(host)) {
    throw new ConfigError(
      `the dashboard would listen on ${host}, reachable from other hosts, without a password (expected credentials for a non-loopback address); set DASHBOARD_USER and DASHBOARD_PASSWORD, or bind --host 127.0.0.1`,
    );
  }
  return undefined;
}

/**
 * Equal-length digests make the comparison's time independent of where the strings differ and
 * of the secret's length.
 */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** Parses `Authorization: Basic base64(user:password)`; undefined when absent or malformed. */
function basicCredentials(header: string | undefined): DashboardCredentials | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Hono middleware: 401 with a Basic challenge unless the request carries the credentials. */
export function basicAuth(expected: DashboardCredentials): MiddlewareHandler {
  return async (c, next) => {
    const given = basicCredentials(c.req.header('authorization'));
    // Both comparisons always run, so a wrong user name takes as long as a wrong password.
    const userOk = sameSecret(given?.user ?? '', expected.user);
    const passwordOk = sameSecret(given?.password ?? '', expected.password);
    if (given && userOk && passwordOk) return next();
    return c.text('authentication required\n', 401, {
      'WWW-Authenticate': 'Basic realm="resnet-batch dashboard", charset="UTF-8"',
    });
  };
}

/** Methods that only read: everything else changes jobs (retry, promote, clean, add, remove). */
const READ_ONLY_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Hono middleware for requests that change anything (every method but GET, HEAD and OPTIONS):
 *   - without configured credentials the dashboard is read-only, also on loopback: any web page
 *     the operator opens could otherwise send the request (a cross-site form post needs no
 *     preflight), and a host's other users could too;
 *   - a request whose Origin is not the dashboard's own, or that the browser marks cross-site
 *     (Sec-Fetch-Site), is refused: a browser sends stored Basic credentials with it anyway;
 *   - a POST must be JSON, a content type no cross-site form or `text/plain` fetch can send
 *     without a CORS preflight (which this server never grants). bull-board's own writes are PUT,
 *     PATCH, DELETE or a JSON POST, so its UI keeps working.
 */
export function guardWrites(credentials: DashboardCredentials | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (READ_ONLY_METHODS.has(c.req.method)) return next();
    if (credentials === undefined) {
      return c.text(
        'the dashboard is read-only without DASHBOARD_USER and DASHBOARD_PASSWORD; set both to retry, promote or remove jobs\n',
        403,
      );
    }
    const origin = c.req.header('origin');
    const host = c.req.header('host');
    if (origin !== undefined && (origin === 'null' || new URL(origin).host !== host)) {
      return c.text(`cross-origin request refused (Origin ${origin}, dashboard ${host})\n`, 403);
    }
    if (c.req.header('sec-fetch-site') === 'cross-site') return c.text('cross-site request refused\n', 403);
    if (c.req.method === 'POST' && !/^application\/json\b/i.test(c.req.header('content-type') ?? '')) {
      return c.text('a POST that changes jobs must be application/json\n', 415);
    }
    return next();
  };
}
