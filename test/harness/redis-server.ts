import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../shared/free-port.ts';
import { type ServerProcess, startServerProcess } from './child-process.ts';
import { useContainers } from './docker-available.ts';
import { startRedisContainer } from './redis-container.ts';
import { useResource } from './set-up-scope.ts';

export interface RedisOptions {
  /**
   * Turn on the append-only file, so data survives kill('SIGKILL') + restart(). Default false.
   * The harness syncs it on every write (appendfsync always) so crash tests are deterministic;
   * production (docker-compose) keeps Redis's everysec.
   */
  appendonly?: boolean;
  /** Require this password (AUTH); it is put in `url`. Default: none. */
  password?: string;
}

/** A Redis for one test file or test. Always call stop(), typically in after()/t.after(). */
export interface TestRedis {
  /** redis://[:password@]host:port, ready for ioredis/BullMQ. Read it again after restart(): a container may get a new port. */
  readonly url: string;
  readonly port: number;
  /** Temporary data directory (the AOF lives here for a local process; an unused empty folder for a container). */
  readonly dir: string;
  /** Shuts Redis down and removes its data. Idempotent. */
  stop(): Promise<void>;
  /**
   * Sends a signal: SIGKILL (default) or SIGTERM wait for the exit, simulating a crash or a
   * shutdown; SIGSTOP/SIGCONT freeze and thaw it (a hung server) and return at once.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and data directory (stopping it first if it still runs). */
  restart(): Promise<void>;
}

/**
 * Starts a real Redis: a testcontainers `redis:7` when a Docker engine answers (see
 * docker-available.ts), otherwise a `redis-server` child process on a free 127.0.0.1 port in a
 * temporary directory.
 */
export async function startRedis(options: RedisOptions = {}): Promise<TestRedis> {
  return (await useContainers()) ? startRedisContainer(options) : startRedisProcess(options);
}

/** The Redis of a file or describe block (set-up-scope.ts), with one client of the test's own. */
export interface UsedRedis extends TestRedis {
  /** An ioredis client (maxRetriesPerRequest null, as BullMQ wants), made on first use and disconnected after the tests. */
  readonly client: Redis;
}

/**
 * A Redis started before the scope's tests and stopped after them: `const redis = useRedis()`
 * at the top of a file or describe block, then `redis.url` in the tests. One per scope; give each
 * test its own queue prefix (uniqueName('q')) so tests never see each other's jobs.
 */
export function useRedis(options: RedisOptions = {}): UsedRedis {
  let client: Redis | undefined;
  const current = useResource(
    () => startRedis(options),
    async (redis) => {
      client?.disconnect();
      await redis.stop();
    },
  );
  return {
    get url() {
      return current().url;
    },
    get port() {
      return current().port;
    },
    get dir() {
      return current().dir;
    },
    get client() {
      client ??= new Redis(current().url, { maxRetriesPerRequest: null });
      return client;
    },
    stop: () => current().stop(),
    kill: (signal) => current().kill(signal),
    restart: () => current().restart(),
  };
}

async function startRedisProcess(options: RedisOptions): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'resnet-batch-redis-'));
  let port = 0;
  let server: ServerProcess | undefined;
  let stopped = false;

  const launch = async (fixedPort?: number) => {
    for (let attempt = 1; ; attempt += 1) {
      const candidate = fixedPort ?? (await freePort());
      try {
        ({ server } = await startServerProcess('redis-server', redisArgs(candidate, dir, options), {
          cwd: dir,
          ready: /Ready to accept connections/,
        }));
        port = candidate;
        return;
      } catch (error) {
        if (/ENOENT/.test(String(error))) {
          throw new Error(
            'redis-server is not on PATH; install it (apt-get install redis-server) or run the tests where it is',
            { cause: error },
          );
        }
        // Another process took the port between freePort() and the bind: try a new one.
        if (fixedPort !== undefined || attempt >= 5) throw error;
      }
    }
  };
  await launch().catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });

  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  return {
    get url() {
      return `redis://${auth}127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server?.stop('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
    async kill(signal = 'SIGKILL') {
      if (signal === 'SIGSTOP' || signal === 'SIGCONT') server?.child.kill(signal);
      else await server?.stop(signal);
    },
    async restart() {
      if (stopped) throw new Error('restart() after stop(): the data directory is gone; start a new Redis instead');
      server?.child.kill('SIGCONT');
      await server?.stop('SIGTERM');
      await launch(port);
    },
  };
}

function redisArgs(port: number, dir: string, options: RedisOptions): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', ...redisSettings(options)];
}

/** The settings of every test Redis, local process or container. */
export function redisSettings(options: RedisOptions): string[] {
  return [
    '--save',
    '',
    '--appendonly',
    options.appendonly === true ? 'yes' : 'no',
    '--appendfsync',
    'always',
    // BullMQ requires noeviction: an evicted job key is a silently lost shard.
    '--maxmemory-policy',
    'noeviction',
    ...(options.password === undefined ? [] : ['--requirepass', options.password]),
  ];
}
