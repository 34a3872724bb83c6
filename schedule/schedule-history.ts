import type { Redis } from 'ioredis';
import type { RunRecord } from '../shared/run/run-record.ts';
import type { RunRegistry } from '../shared/run/run-registry.ts';

/**
 * What each schedule did, next to the run records (same prefix P):
 * - `P:schedule:<name>:runs`  sorted set of the runs it fired, scored by fire time (ms)
 * - `P:schedule:<name>`       hash: last_run, last_fired_at, skipped (count), last_skip_at, last_skip_reason
 * Removing a schedule keeps its history, so a schedule added again under the same name continues
 * incrementally from its last finished run.
 */
export interface ScheduleState {
  lastRun: string | null;
  lastFiredAt: string | null;
  /** Firings skipped because the previous run had not finished (or another firing held the lock). */
  skipped: number;
  lastSkipAt: string | null;
  lastSkipReason: string | null;
}

/** Runs looked at, newest first, when searching for the last finished one. */
const RUNS_SEARCHED = 100;

export class ScheduleHistory {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private keys(name: string): { hash: string; runs: string } {
    const hash = `${this.prefix}:schedule:${name}`;
    return { hash, runs: `${hash}:runs` };
  }

  async recordRun(name: string, run: string, firedAt: Date): Promise<void> {
    const { hash, runs } = this.keys(name);
    await this.redis
      .multi()
      .zadd(runs, firedAt.getTime(), run)
      .hset(hash, { last_run: run, last_fired_at: firedAt.toISOString() })
      .exec();
  }

  async recordSkip(name: string, firedAt: Date, reason: string): Promise<void> {
    const { hash } = this.keys(name);
    await this.redis
      .multi()
      .hincrby(hash, 'skipped', 1)
      .hset(hash, { last_skip_at: firedAt.toISOString(), last_skip_reason: reason })
      .exec();
  }

  /** Runs this schedule fired, newest first. */
  async runs(name: string, limit = RUNS_SEARCHED): Promise<string[]> {
    return this.redis.zrevrange(this.keys(name).runs, 0, limit - 1);
  }

  async state(name: string): Promise<ScheduleState> {
    const fields = await this.redis.hgetall(this.keys(name).hash);
    return {
      lastRun: fields.last_run ?? null,
      lastFiredAt: fields.last_fired_at ?? null,
      skipped: Number(fields.skipped ?? 0),
      lastSkipAt: fields.last_skip_at ?? null,
      lastSkipReason: fields.last_skip_reason ?? null,
    };
  }

  /** The newest run of the schedule whose record exists and has not finished, if any. */
  async unfinishedRun(name: string, registry: RunRegistry): Promise<RunRecord | null> {
    for (const run of await this.runs(name)) {
      const record = await registry.get(run);
      if (record !== null) return record.finishedAt === null ? record : null;
    }
    return null;
  }

  /** The newest finished run of the schedule (the base of an incremental firing), if any. */
  async lastFinishedRun(name: string, registry: RunRegistry): Promise<string | null> {
    for (const run of await this.runs(name)) {
      const record = await registry.get(run);
      if (record?.finishedAt) return run;
    }
    return null;
  }
}
