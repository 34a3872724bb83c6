import type { Redis } from 'ioredis';
import { ConfigError } from '../errors.ts';
import { hashOfRunFields, runFieldsOfHash } from './run-fields.ts';
import type { NewRunFields } from './run-options.ts';
import type { RunRecord, RunState } from './run-record.ts';

/**
 * The run records in Redis, next to the run's BullMQ queue (same key prefix, so a Redis Cluster
 * hash tag in the prefix keeps them in one slot too).
 *
 * Keys, for prefix P and run R:
 * - `P:run:R`          hash: the run's definition (the `stored` fields of run-options.ts, an
 *                      optional one only when not its default), schedule and model_sha256 when
 *                      set, timestamps, totals and counters
 * - `P:run:R:done`     set of shard indices that completed (each counted once)
 * - `P:run:R:failed`   set of shard indices that failed for good (until `retry`)
 * - `P:run:R:engines`  set of engine names that wrote results
 * - `P:run:R:digests`  hash shard index -> digest of the inputs it was enqueued with
 *                      (shared/run/shard-digest.ts), set once; a listing that would put other inputs
 *                      in a shard is refused, and a job naming other inputs is not authorised
 * - `P:runs`           sorted set of run ids by creation time
 *
 * Each state change is one Lua script, so that two workers finishing the last two shards at the
 * same time agree on who saw the run complete.
 */

const completionCheck = `
local function complete()
  local h = redis.call('HMGET', KEYS[1], 'listing_done', 'shards_total')
  if h[1] ~= '1' then return 0 end
  local accounted = redis.call('SCARD', KEYS[2]) + redis.call('SCARD', KEYS[3])
  if accounted >= tonumber(h[2] or '0') then return 1 end
  return 0
end
-- A job naming a shard the run does not have (anyone with Redis access can add one) must not
-- count towards the run: once the number of shards is known such indices are never recorded,
-- and finishListing drops any recorded before it was known.
local function inRun(shard)
  local h = redis.call('HMGET', KEYS[1], 'listing_done', 'shards_total')
  return h[1] ~= '1' or tonumber(shard) < tonumber(h[2] or '0')
end
`;

// KEYS: hash, done, failed, engines. ARGV: shard, ok, error, engine ('' when unknown), '1' when
// the shard was found committed on storage rather than processed. Returns {firstTime, complete}.
const completeShardScript = `${completionCheck}
if not inRun(ARGV[1]) then return {0, complete()} end
local first = redis.call('SADD', KEYS[2], ARGV[1])
if first == 1 then
  redis.call('SREM', KEYS[3], ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'images_ok', ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'images_error', ARGV[3])
  if ARGV[4] ~= '' then redis.call('SADD', KEYS[4], ARGV[4]) end
  if ARGV[5] == '1' then redis.call('HINCRBY', KEYS[1], 'images_reused', ARGV[2] + ARGV[3]) end
end
return {first, complete()}`;

// KEYS: hash. ARGV: an ISO 8601 UTC time. Keeps the earliest (ISO strings in UTC sort as times).
const firstStartScript = `
local known = redis.call('HGET', KEYS[1], 'first_started_at')
if not known or ARGV[1] < known then redis.call('HSET', KEYS[1], 'first_started_at', ARGV[1]) end
return 1`;

// KEYS: hash, done, failed. ARGV: shard. A shard that completed is never marked failed afterwards.
const failShardScript = `${completionCheck}
if inRun(ARGV[1]) and redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then redis.call('SADD', KEYS[3], ARGV[1]) end
return complete()`;

// KEYS: hash, done, failed. ARGV: images_total, images_skipped, shards_total, images_unchanged.
const finishListingScript = `${completionCheck}
redis.call('HSET', KEYS[1], 'listing_done', '1', 'images_total', ARGV[1], 'images_skipped', ARGV[2], 'shards_total', ARGV[3], 'images_unchanged', ARGV[4])
for _, key in ipairs({KEYS[2], KEYS[3]}) do
  for _, shard in ipairs(redis.call('SMEMBERS', key)) do
    if tonumber(shard) >= tonumber(ARGV[3]) then redis.call('SREM', key, shard) end
  end
end
return complete()`;

/** A new run: its id and definition (run-options.ts), and what Redis keeps beside it. */
export type NewRun = { run: string } & NewRunFields & {
    /** Schedule that fired the run (see RunRecord.schedule). */
    schedule?: string;
    /** sha256 of the model's weights as submit checked them; workers with other weights refuse its shards. */
    modelSha256?: string;
  };

export class RunRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private keys(run: string): [string, string, string, string] {
    const base = `${this.prefix}:run:${run}`;
    return [base, `${base}:done`, `${base}:failed`, `${base}:engines`];
  }

  private digestsKey(run: string): string {
    return `${this.prefix}:run:${run}:digests`;
  }

  /**
   * Records the digest of the inputs of shard `shard` unless one is recorded already, and
   * returns the recorded one: a caller whose digest differs has another listing than the run's.
   */
  async recordShardDigest(run: string, shard: number, digest: string): Promise<string> {
    const key = this.digestsKey(run);
    const [, recorded] =
      (await this.redis.multi().hsetnx(key, String(shard), digest).hget(key, String(shard)).exec()) ?? [];
    return String(recorded?.[1] ?? digest);
  }

  /** The digest shard `shard` was enqueued with, or null when the registry has none. */
  async shardDigest(run: string, shard: number): Promise<string | null> {
    return this.redis.hget(this.digestsKey(run), String(shard));
  }

  /** The finaliser failed for good: the run stays unfinished, and status and `run` say why. */
  async recordFinalizeFailure(run: string, reason: string): Promise<void> {
    await this.redis.hset(this.keys(run)[0], 'finalize_error', reason.slice(0, 2000));
  }

  /** Creates the record unless it exists. Returns false (and changes nothing) when it did. */
  async create(spec: NewRun, now = new Date()): Promise<boolean> {
    const [hash] = this.keys(spec.run);
    const created = await this.redis.hsetnx(hash, 'created_at', now.toISOString());
    if (created === 0) return false;
    await this.redis
      .multi()
      .hset(hash, {
        ...hashOfRunFields(spec),
        listing_done: '0',
        ...(spec.schedule === undefined ? {} : { schedule: spec.schedule }),
        ...(spec.modelSha256 === undefined ? {} : { model_sha256: spec.modelSha256 }),
      })
      .zadd(`${this.prefix}:runs`, now.getTime(), spec.run)
      .exec();
    return true;
  }

  async get(run: string): Promise<RunRecord | null> {
    const [hash, done, failed, engines] = this.keys(run);
    const [fields, doneCount, failedShards, engineNames] = await Promise.all([
      this.redis.hgetall(hash),
      this.redis.scard(done),
      this.redis.smembers(failed),
      this.redis.smembers(engines),
    ]);
    if (!fields.created_at) return null;
    const count = (name: string): number => Number(fields[name] ?? 0);
    const state: RunState = fields.finished_at ? 'done' : fields.started_at ? 'running' : 'queued';
    return {
      run,
      state,
      ...runFieldsOfHash(fields),
      createdAt: fields.created_at,
      startedAt: fields.started_at ?? null,
      firstStartedAt: fields.first_started_at ?? null,
      finishedAt: fields.finished_at ?? null,
      listingDone: fields.listing_done === '1',
      images: {
        total: count('images_total'),
        ok: count('images_ok'),
        error: count('images_error'),
        skipped: count('images_skipped'),
        unchanged: count('images_unchanged'),
        ...(fields.images_reused ? { reused: count('images_reused') } : {}),
      },
      shards: {
        total: count('shards_total'),
        done: doneCount,
        failed: failedShards.length,
        failedShards: failedShards.map(Number).sort((a, b) => a - b),
      },
      engines: engineNames.sort(),
      schedule: fields.schedule ?? null,
      modelSha256: fields.model_sha256 ?? null,
      finalizeError: fields.finalize_error ?? null,
    };
  }

  /** The run's record, or a ConfigError naming the run and the prefix it was looked up under. */
  async require(run: string): Promise<RunRecord> {
    const record = await this.get(run);
    if (!record)
      throw new ConfigError(
        `run '${run}' not found under QUEUE_PREFIX '${this.prefix}'; check the run id and QUEUE_PREFIX`,
      );
    return record;
  }

  async isShardDone(run: string, shard: number): Promise<boolean> {
    return (await this.redis.sismember(this.keys(run)[1], String(shard))) === 1;
  }

  /** Records the run's start unless recorded; returns the recorded one (ISO 8601 UTC). */
  async markStarted(run: string, now = new Date()): Promise<string> {
    const hash = this.keys(run)[0];
    const [, recorded] =
      (await this.redis.multi().hsetnx(hash, 'started_at', now.toISOString()).hget(hash, 'started_at').exec()) ?? [];
    return String(recorded?.[1] ?? now.toISOString());
  }

  /** An earlier attempt of the run started at `startedAt` (its commit markers say so); the earliest is kept. */
  async recordFirstStart(run: string, startedAt: string): Promise<void> {
    await this.redis.eval(firstStartScript, 1, this.keys(run)[0], startedAt);
  }

  /** Counts the shard's images once. Returns whether this call saw the run become complete. */
  async completeShard(
    run: string,
    shard: number,
    counts: { ok: number; error: number },
    engine: string | null,
    /** True when the shard was found committed on storage (a resumed run), not processed now. */
    reused = false,
  ): Promise<{ firstTime: boolean; runComplete: boolean }> {
    const [first, complete] = (await this.redis.eval(
      completeShardScript,
      4,
      ...this.keys(run),
      shard,
      counts.ok,
      counts.error,
      engine ?? '',
      reused ? '1' : '0',
    )) as [number, number];
    return { firstTime: first === 1, runComplete: complete === 1 };
  }

  /** Records a shard that failed for good. Returns whether the run is now complete. */
  async failShard(run: string, shard: number): Promise<boolean> {
    const [hash, done, failed] = this.keys(run);
    return (await this.redis.eval(failShardScript, 3, hash, done, failed, shard)) === 1;
  }

  /**
   * Called by the producer once every shard is enqueued, with the images enqueued, all left out
   * and, of those, the ones unchanged since the base of an incremental run. Returns whether the
   * run is already complete.
   */
  async finishListing(
    run: string,
    totals: { images: number; skipped: number; unchanged: number; shards: number },
  ): Promise<boolean> {
    const [hash, done, failed] = this.keys(run);
    return (
      (await this.redis.eval(
        finishListingScript,
        3,
        hash,
        done,
        failed,
        totals.images,
        totals.skipped,
        totals.shards,
        totals.unchanged,
      )) === 1
    );
  }

  async markFinished(run: string, now = new Date()): Promise<void> {
    await this.redis
      .multi()
      .hset(this.keys(run)[0], 'finished_at', now.toISOString())
      .hdel(this.keys(run)[0], 'finalize_error')
      .exec();
  }

  /**
   * Reopens the run for `retry`: takes the failed shards out of the failed set and clears a
   * finaliser failure, bumps the generation (so the finaliser gets a fresh job id) and clears
   * finished_at. A run with nothing failed is left exactly as it is. Returns what was reopened.
   */
  async reopenFailed(run: string): Promise<{ shards: number[]; finalizer: boolean }> {
    const [hash, , failed] = this.keys(run);
    const shards = (await this.redis.smembers(failed)).map(Number).sort((a, b) => a - b);
    const finalizer = (await this.redis.hexists(hash, 'finalize_error')) === 1;
    if (shards.length === 0 && !finalizer) return { shards, finalizer };
    await this.redis
      .multi()
      .del(failed)
      .hdel(hash, 'finished_at', 'finalize_error')
      .hincrby(hash, 'generation', 1)
      .exec();
    return { shards, finalizer };
  }

  /** Bumped by each retry, so the finaliser job of a reopened run gets a fresh id. */
  async generation(run: string): Promise<number> {
    return Number((await this.redis.hget(this.keys(run)[0], 'generation')) ?? 0);
  }

  /** Most recent runs first. */
  async list(limit = 50): Promise<string[]> {
    return this.redis.zrevrange(`${this.prefix}:runs`, 0, limit - 1);
  }
}
