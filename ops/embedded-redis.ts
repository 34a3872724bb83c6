import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ConfigError } from '../shared/errors.ts';
import { freePort } from '../shared/free-port.ts';

/**
 * The embedded default of `resnet-batch run`: a private redis-server child on a free loopback
 * port, in a temporary directory, with no persistence (the run lives as long as the command) and
 * maxmemory-policy noeviction (BullMQ must never lose a job to eviction). Stopped at exit.
 */
export interface EmbeddedRedis {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedRedis(): Promise<EmbeddedRedis> {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new ConfigError(
      'redis-server is not on PATH and REDIS_URL is not set; install it (Debian/Ubuntu: apt-get install redis-server, macOS: brew install redis) or set REDIS_URL=redis://host:6379',
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'resnet-batch-redis-'));
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
      '--protected-mode',
      'yes',
    ],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  try {
    await waitForPing(url, child);
  } catch (error) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const exitOnParentExit = (): void => void child.kill('SIGKILL');
  process.once('exit', exitOnParentExit);
  return {
    url,
    async stop() {
      process.off('exit', exitOnParentExit);
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPing(url: string, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
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
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      redis.disconnect();
    }
  }
  throw new ConfigError(
    `redis-server did not answer within ${timeoutMs} ms; set REDIS_URL to a running server instead`,
  );
}
