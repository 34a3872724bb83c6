import type { RunRecord } from '../../shared/run/run-record.ts';

/**
 * A run record as Redis would hold it for a running run, for tests of what is computed from one
 * (rates, ETA, exit codes): `startedAt` the given start, everything else a plain fp32 run.
 */
export function runningRecord(
  start: number,
  overrides: {
    images?: Partial<RunRecord['images']>;
    shards?: Partial<RunRecord['shards']>;
    shardSize?: number;
    finishedAt?: string | null;
  } = {},
): RunRecord {
  return {
    run: 'r',
    state: 'running',
    input: '/in',
    output: '/out',
    model: 'm',
    precision: 'fp32',
    inputRoots: ['/in'],
    shardSize: overrides.shardSize ?? 10,
    normalize: false,
    carriedColumns: [],
    createdAt: new Date(start).toISOString(),
    startedAt: new Date(start).toISOString(),
    finishedAt: overrides.finishedAt ?? null,
    listingDone: true,
    images: { total: 300, ok: 0, error: 0, skipped: 0, unchanged: 0, ...overrides.images },
    shards: { total: 30, done: 0, failed: 0, failedShards: [], ...overrides.shards },
    engines: [],
    since: null,
    urlColumn: null,
    finalizeError: null,
  };
}
