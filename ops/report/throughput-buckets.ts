import type { ThroughputSeries } from './report-data.ts';

/**
 * Round bucket widths in seconds, smallest first: 1 s to 1 day. The first one that gives at most
 * MAX_BUCKETS buckets is used, so a 3-second test run shows seconds and a 3-day run shows hours.
 */
const BUCKET_STEPS_SECONDS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
];

/** Most bars the throughput chart draws; more would be thinner than a few pixels. */
export const MAX_BUCKETS = 60;

/**
 * Images per time bucket from per-second counts. processed_at is the time a shard's results were
 * written, so each shard lands in one bucket as a whole: with few large shards the chart is
 * spiky, and a bucket shorter than a shard's duration shows gaps between shards.
 */
export function throughputBuckets(perSecond: ReadonlyMap<number, number>): ThroughputSeries {
  if (perSecond.size === 0) return { bucketSeconds: 1, buckets: [] };
  // A loop, not Math.min(...keys): a week-long run has ~600k seconds, past the argument limit.
  let first = Infinity;
  let last = -Infinity;
  for (const second of perSecond.keys()) {
    first = Math.min(first, second);
    last = Math.max(last, second);
  }
  const spanSeconds = (last - first) / 1000 + 1;
  const bucketSeconds =
    BUCKET_STEPS_SECONDS.find((step) => Math.ceil(spanSeconds / step) + 1 <= MAX_BUCKETS) ??
    BUCKET_STEPS_SECONDS.at(-1)!;
  const widthMs = bucketSeconds * 1000;
  const start = Math.floor(first / widthMs) * widthMs;
  const count = Math.floor((last - start) / widthMs) + 1;
  const buckets = Array.from({ length: count }, (_, i) => ({ startMs: start + i * widthMs, images: 0 }));
  for (const [second, images] of perSecond) buckets[Math.floor((second - start) / widthMs)]!.images += images;
  return { bucketSeconds, buckets };
}
