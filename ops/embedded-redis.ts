import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ConfigError } from '../shared/errors.ts';
import { freePort } from '../shared/free-port.ts';

/**
 * The embedded default of `resnet-batch run`: a private redis-server child on a free loopback
 * port with maxmemory-policy noeviction (BullMQ must never lose a job to eviction), and nothing
 * on disk: no RDB snapshots, no AOF, so no data folder to create or to leak (the run lives as long
 * as the command). Its working directory is the system temp folder, where it writes nothing.
 *
 * It must not outlive `run`, however `run` ends (issue 12):
 * - it is in a session of its own (detached), so Ctrl-C at the terminal reaches `run` alone, and
 *   `run` stops it only after its workers have finished or given back their shards;
 * - when `run` dies without stopping it (SIGKILL, a crash), the kernel sends it SIGTERM on Linux
 *   (`setpriv --pdeathsig`, util-linux, present on every Debian and Ubuntu); elsewhere a POSIX sh
 *   guardian holds a pipe from `run` and stops it when the pipe closes, which happens when `run`
 *   exits for any reason.
 */
export interface EmbeddedRedis {
  url: string;
  /** Stops the server (SIGTERM: no persistence, so it exits at once) and waits for its exit. */
  stop(): Promise<void>;
}

/** How the server is tied to the life of `run`: see EmbeddedRedis. Default: pdeathsig where setpriv runs. */
export type RedisLifeline = 'pdeathsig' | 'guardian';

const REDIS_ARGS = [
  '--bind',
  '127.0.0.1',
  '--save',
  '',
  '--appendonly',
  'no',
  '--maxmemory-policy',
  'noeviction',
  '--protected-mode',
  'yes',
];

/**
 * The guardian: starts redis-server in the background and waits for its own stdin (a pipe from
 * `run`) to close, then stops the server. `exec` would lose the pipe, so sh stays as the parent.
 * A background job of a non-interactive sh ignores SIGINT, like the detached session above.
 */
const GUARDIAN = 'redis-server "$@" & server=$!; cat >/dev/null; kill -TERM $server; wait $server';

export async function startEmbeddedRedis(lifeline: RedisLifeline = defaultLifeline()): Promise<EmbeddedRedis> {
  if (!onPath('redis-server')) {
    throw new ConfigError(
      'redis-server is not on PATH and REDIS_URL is not set; install it (Debian/Ubuntu: apt-get install redis-server, macOS: brew install redis) or set REDIS_URL=redis://host:6379',
    );
  }
  const port = await freePort();
  const args = [...REDIS_ARGS, '--port', String(port)];
  const options = { cwd: tmpdir(), detached: true } as const;
  const child =
    lifeline === 'pdeathsig'
      ? spawn('setpriv', ['--pdeathsig', 'SIGTERM', '--', 'redis-server', ...args], { ...options, stdio: 'ignore' })
      : spawn('sh', ['-c', GUARDIAN, 'resnet-batch-redis-guardian', ...args], {
          ...options,
          stdio: ['pipe', 'ignore', 'ignore'],
        });
  const url = `redis://127.0.0.1:${port}`;
  try {
    await waitForPing(url, child);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  // An exit that skips stop() (an uncaught error, process.exit) needs nothing more: the lifeline
  // stops the server when this process is gone.
  return {
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (lifeline === 'guardian') child.stdin?.end();
      else child.kill('SIGTERM');
      await exited;
    },
  };
}

/** setpriv where it is (util-linux, Linux); the sh guardian elsewhere. */
function defaultLifeline(): RedisLifeline {
  return process.platform === 'linux' && onPath('setpriv') ? 'pdeathsig' : 'guardian';
}

/**
 * Whether an executable named `command` is in a PATH folder. Looked up rather than run
 * (`redis-server --version`): forking this process costs tens of milliseconds of start-up.
 */
function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((folder) => {
    try {
      accessSync(join(folder || '.', command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

async function waitForPing(url: string, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  // Imported here: `run` starts its worker's model loading before anything heavy loads.
  const { Redis } = await import('ioredis');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new ConfigError(
        `redis-server exited at start (code ${child.exitCode}); run redis-server by hand to see why, or set REDIS_URL`,
      );
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      await redis.ping();
      return;
    } catch {
      // redis-server is usually up within 10-30 ms.
      await new Promise((resolve) => setTimeout(resolve, 15));
    } finally {
      redis.disconnect();
    }
  }
  throw new ConfigError(
    `redis-server did not answer within ${timeoutMs} ms; set REDIS_URL to a running server instead`,
  );
}
