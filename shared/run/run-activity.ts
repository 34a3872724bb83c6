import type { Redis } from 'ioredis';

/**
 * A run's progress between shard completions, for people watching it: the run registry counts
 * images once per shard, when the shard completes (run/run-registry.ts), so a 256-image shard would
 * sit at 0 and jump to 256. Workers report each batch here instead, and `status`, `run`, the
 * dashboard and the report add it to the registry's counts.
 *
 * Keys, for prefix P and run R, beside the run's record:
 * - `P:run:R:inflight`  hash shard index -> images of the shard processed by its current attempt
 *                       (overwritten per batch, removed when the shard completes or fails)
 * - `P:run:R:rate`      hash 10-second bucket (epoch seconds / 10) -> images processed in it,
 *                       for the throughput over the last minute; buckets older than RATE_KEEP
 *                       are dropped as new ones are written, and the hash expires a day after
 *                       its last write.
 * Nothing here decides anything: a retried shard reports its images again (the rate counts work
 * done, not images done), and only the registry's counts are exact.
 */

/** Width of a throughput bucket, in seconds. */
export const RATE_BUCKET_SECONDS = 10;
/** Buckets kept: ten minutes. */
const RATE_KEEP = 60;
/** The window of `recentRate`, in seconds. */
export const RECENT_WINDOW_SECONDS = 60;

// KEYS: inflight, rate. ARGV: shard, processed in the shard, images of this batch, bucket, oldest kept bucket.
const recordBatchScript = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], ARGV[4], ARGV[3])
redis.call('HDEL', KEYS[2], ARGV[5])
redis.call('EXPIRE', KEYS[1], 86400)
redis.call('EXPIRE', KEYS[2], 86400)
return 1`;

export class RunActivity {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private keys(run: string): [string, string] {
    const base = `${this.prefix}:run:${run}`;
    return [`${base}:inflight`, `${base}:rate`];
  }

  /** After each batch of a shard: `processed` images of the shard so far, `batch` of them just now. */
  async recordBatch(run: string, shard: number, processed: number, batch: number, now = Date.now()): Promise<void> {
    const bucket = Math.floor(now / 1000 / RATE_BUCKET_SECONDS);
    await this.redis.eval(recordBatchScript, 2, ...this.keys(run), shard, processed, batch, bucket, bucket - RATE_KEEP);
  }

  /** The shard ended (completed or failed for good): its images are in the registry's counts now. */
  async endShard(run: string, shard: number): Promise<void> {
    await this.redis.hdel(this.keys(run)[0], String(shard));
  }

  /**
   * Images processed in shards not completed yet, and those processed over the last minute with
   * the seconds that window spans: the full buckets of the minute plus the current one so far.
   * The window may reach back before the run started; ops/run-progress.ts divides by the elapsed
   * time instead until a minute has passed.
   */
  async read(
    run: string,
    now = Date.now(),
  ): Promise<{ inFlight: number; recentImages: number; recentSeconds: number }> {
    const [inflight, rate] = this.keys(run);
    const [shards, buckets] = await Promise.all([this.redis.hvals(inflight), this.redis.hgetall(rate)]);
    const current = Math.floor(now / 1000 / RATE_BUCKET_SECONDS);
    const oldest = current - RECENT_WINDOW_SECONDS / RATE_BUCKET_SECONDS + 1;
    let recentImages = 0;
    for (const [bucket, images] of Object.entries(buckets)) {
      if (Number(bucket) >= oldest) recentImages += Number(images);
    }
    const recentSeconds = now / 1000 - oldest * RATE_BUCKET_SECONDS;
    return { inFlight: shards.reduce((sum, value) => sum + Number(value), 0), recentImages, recentSeconds };
  }
}
