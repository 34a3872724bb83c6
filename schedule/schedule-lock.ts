import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * One holder at a time per schedule, across every worker process: `SET P:schedule:<name>:lock
 * <token> NX PX ttl`, renewed every ttl/3 while held, released only by the holder (the token is
 * compared in Lua, so a holder whose lease expired cannot release a newer one). A holder that
 * dies stops renewing and the lock frees itself after at most ttl.
 *
 * It guards the short window where a firing decides and submits (see scheduled-run-consumer.ts):
 * two firings handled at once, by two workers or by a retry, never both list and enqueue.
 */

/** Lease length in ms without renewal: how long a crashed holder blocks its schedule. Default 60 s. */
export const SCHEDULE_LOCK_TTL_MS = 60_000;

const renewScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const releaseScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface ScheduleLease {
  /** Stops renewing and frees the lock if this lease still holds it. */
  release(): Promise<void>;
}

export class ScheduleLock {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs: number = SCHEDULE_LOCK_TTL_MS,
  ) {}

  key(name: string): string {
    return `${this.prefix}:schedule:${name}:lock`;
  }

  /** The lease, or null when another holder has it. */
  async acquire(name: string): Promise<ScheduleLease | null> {
    const key = this.key(name);
    const token = randomBytes(12).toString('hex');
    if ((await this.redis.set(key, token, 'PX', this.ttlMs, 'NX')) !== 'OK') return null;
    const timer = setInterval(
      () => void this.redis.eval(renewScript, 1, key, token, this.ttlMs).catch(() => undefined),
      Math.floor(this.ttlMs / 3),
    );
    timer.unref();
    return {
      release: async () => {
        clearInterval(timer);
        await this.redis.eval(releaseScript, 1, key, token);
      },
    };
  }
}
