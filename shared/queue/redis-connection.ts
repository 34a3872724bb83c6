import { Redis, type RedisOptions } from 'ioredis';
import { redactUrl } from '../config.ts';
import { ConfigError, describeError, ResnetBatchError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * When to stop reconnecting to a Redis that does not answer: after `afterMs` (REDIS_UNREACHABLE_MS,
 * shared/config.ts; 0 = never) of failed reconnects in a row, the connection stops retrying and
 * `onGiveUp` gets a REDIS_UNREACHABLE error saying so, once per connection. The caller decides what
 * that means (a worker exits non-zero, so that its supervisor restarts it and the outage shows).
 */
export interface RedisGiveUp {
  afterMs: number;
  onGiveUp(error: ResnetBatchError): void;
}

/**
 * Opens an ioredis connection for BullMQ and the run registry. rediss:// turns on TLS and a
 * password in the URL is used for AUTH (ioredis parses both from the URL).
 *
 * `maxRetriesPerRequest: null` is what BullMQ requires of a worker's connection: commands wait
 * through a Redis outage instead of failing, and the retry strategy below reconnects with a
 * capped exponential backoff, logging each attempt, so an outage makes workers wait, not fail
 * their shards; for ever unless `giveUp` sets a limit.
 */
export function connectRedis(url: string, logger?: Logger, overrides: RedisOptions = {}, giveUp?: RedisGiveUp): Redis {
  /** Start of the current run of failed reconnects; undefined while connected. */
  let downSince: number | undefined;
  const limit = giveUp && giveUp.afterMs > 0 ? giveUp.afterMs : Number.POSITIVE_INFINITY;
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (attempt) => {
      downSince ??= Date.now();
      const down = Date.now() - downSince;
      if (giveUp && down >= limit) {
        giveUp.onGiveUp(
          new ResnetBatchError(
            'REDIS_UNREACHABLE',
            `Redis at ${redactUrl(url)} has not answered for ${Math.round(down / 1000)} s (limit REDIS_UNREACHABLE_MS=${limit}); expected it back within the limit. Check that the server runs and REDIS_URL points at it, or raise REDIS_UNREACHABLE_MS (0 waits for ever)`,
            { retryable: true },
          ),
        );
        return null;
      }
      // The last attempt falls on the limit, so giving up does not wait a whole backoff longer.
      const delay = Math.max(1, Math.min(200 * 2 ** Math.min(attempt, 10), 10_000, limit - down));
      logger?.warn({ attempt, delayMs: delay, redis: redactUrl(url) }, 'redis unreachable; reconnecting');
      return delay;
    },
    ...overrides,
  });
  redis.on('ready', () => {
    downSince = undefined;
  });
  redis.on('error', (error) => logger?.debug({ err: describeError(error) }, 'redis connection error'));
  return redis;
}

/**
 * The start-up preamble of every command that needs Redis: REDIS_URL set (else one line saying
 * `why` and how to set it) and answering. Returns the URL.
 */
export async function reachableRedisUrl(
  url: string | undefined,
  why: string,
  checks: { noEviction?: boolean } = {},
): Promise<string> {
  if (!url) throw new ConfigError(`REDIS_URL is not set; ${why}: set it like redis://localhost:6379`);
  await checkRedisReachable(url, 5000, checks);
  return url;
}

/**
 * Start-up check: one PING with a short timeout, so a wrong REDIS_URL is one clear line before
 * anything is enqueued, instead of a worker that waits forever; with `noEviction`, also the
 * memory policy (requireNoEviction), for the commands that enqueue.
 */
export async function checkRedisReachable(
  url: string,
  timeoutMs = 5000,
  checks: { noEviction?: boolean } = {},
): Promise<void> {
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
    redis.disconnect();
    throw new ConfigError(
      `cannot reach Redis at ${redactUrl(url)} (${describeError(error)}); check REDIS_URL (host, port, password, redis:// or rediss://) and that the server is running`,
    );
  }
  try {
    if (checks.noEviction) await requireNoEviction(redis);
  } finally {
    redis.disconnect();
  }
}

/**
 * BullMQ stores jobs and their state in Redis, and requires maxmemory-policy noeviction: any
 * evicting policy silently drops job payloads and locks under memory pressure (measured: 51 of
 * 100 payloads gone), and a run then cannot complete under its id. So submit and workers refuse
 * to start on such a Redis, naming the policy and the fix. A managed Redis that forbids CONFIG
 * cannot be checked: that is logged, and the operator's word is taken.
 */
export async function requireNoEviction(redis: Redis, logger?: Logger): Promise<void> {
  let policy: string | undefined;
  try {
    policy = ((await redis.config('GET', 'maxmemory-policy')) as string[])[1];
  } catch (error) {
    logger?.warn(
      { err: describeError(error) },
      'cannot read Redis maxmemory-policy (CONFIG is not allowed); make sure it is noeviction, or queued shards can be evicted and lost',
    );
    return;
  }
  if (policy && policy !== 'noeviction') {
    throw new ConfigError(
      `Redis maxmemory-policy is '${policy}', which evicts keys under memory pressure and loses queued shards; BullMQ needs 'noeviction': set it with redis-cli CONFIG SET maxmemory-policy noeviction (and in redis.conf), or use another Redis`,
    );
  }
}
