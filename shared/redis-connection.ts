import { Redis, type RedisOptions } from 'ioredis';
import { redactUrl } from './config.ts';
import { ConfigError, describeError } from './errors.ts';
import type { Logger } from './logger.ts';

/**
 * Opens an ioredis connection for BullMQ and the run registry. rediss:// turns on TLS and a
 * password in the URL is used for AUTH (ioredis parses both from the URL).
 *
 * `maxRetriesPerRequest: null` is what BullMQ requires of a worker's connection: commands wait
 * through a Redis outage instead of failing, and the retry strategy below reconnects with a
 * capped exponential backoff forever, logging each attempt, so an outage longer than any retry
 * budget makes workers wait, not exit.
 */
export function connectRedis(url: string, logger?: Logger, overrides: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (attempt) => {
      const delay = Math.min(200 * 2 ** Math.min(attempt, 10), 10_000);
      logger?.warn({ attempt, delayMs: delay, redis: redactUrl(url) }, 'redis unreachable; reconnecting');
      return delay;
    },
    ...overrides,
  });
  redis.on('error', (error) => logger?.debug({ err: describeError(error) }, 'redis connection error'));
  return redis;
}

/**
 * The start-up preamble of every command that needs Redis: REDIS_URL set (else one line saying
 * `why` and how to set it) and answering. Returns the URL.
 */
export async function reachableRedisUrl(url: string | undefined, why: string): Promise<string> {
  if (!url) throw new ConfigError(`REDIS_URL is not set; ${why}: set it like redis://localhost:6379`);
  await checkRedisReachable(url);
  return url;
}

/**
 * Start-up check: one PING with a short timeout, so a wrong REDIS_URL is one clear line before
 * anything is enqueued, instead of a worker that waits forever.
 */
export async function checkRedisReachable(url: string, timeoutMs = 5000): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new ConfigError(
      `cannot reach Redis at ${redactUrl(url)} (${describeError(error)}); check REDIS_URL (host, port, password, redis:// or rediss://) and that the server is running`,
    );
  } finally {
    redis.disconnect();
  }
}

/** BullMQ stores jobs and their state in Redis: an evicting memory policy silently loses them. */
export async function warnOnEvictionPolicy(redis: Redis, logger: Logger): Promise<void> {
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const policy = reply[1];
    if (policy && policy !== 'noeviction') {
      logger.warn(
        { policy },
        `Redis maxmemory-policy is '${policy}'; set it to 'noeviction' (redis-cli CONFIG SET maxmemory-policy noeviction) or queued shards can be evicted and lost`,
      );
    }
  } catch {
    // Managed Redis services often forbid CONFIG; nothing to check then.
  }
}
