import { configFromEnv } from '../shared/config.ts';
import { connectRedis, reachableRedisUrl } from '../shared/queue/redis-connection.ts';
import type { RunRecord } from '../shared/run/run-record.ts';
import { RunRegistry } from '../shared/run/run-registry.ts';
import { stateWithFailures } from './run-progress.ts';

export interface RunsOptions {
  /** At most this many runs, newest first. */
  limit: number;
  /** A JSON array on stdout instead of the table. */
  json: boolean;
}

/**
 * `resnet-batch runs [--limit n] [--json]`: the runs under this QUEUE_PREFIX, newest first (by
 * submission). A run whose shards or finaliser failed says so in its state, so a glance finds it.
 */
export async function runsCommand(options: RunsOptions): Promise<number> {
  const config = configFromEnv();
  const redisUrl = await reachableRedisUrl(config.REDIS_URL, 'runs lists the runs kept in Redis');
  const redis = connectRedis(redisUrl, undefined, { maxRetriesPerRequest: 3 });
  try {
    const registry = new RunRegistry(redis, config.QUEUE_PREFIX);
    const records: RunRecord[] = [];
    for (const run of await registry.list(options.limit)) {
      const record = await registry.get(run);
      // A run removed between the list and the read is simply not shown.
      if (record) records.push(record);
    }
    process.stdout.write(options.json ? `${JSON.stringify(records.map(runJson))}\n` : runsTable(records));
    return 0;
  } finally {
    redis.disconnect();
  }
}

function runJson(record: RunRecord): object {
  return {
    run: record.run,
    state: record.state,
    images: { total: record.images.total, ok: record.images.ok, error: record.images.error },
    shards: { total: record.shards.total, done: record.shards.done, failed: record.shards.failed },
    finalize_error: record.finalizeError,
    listing_done: record.listingDone,
    created_at: record.createdAt,
    started_at: record.startedAt,
    finished_at: record.finishedAt,
    input: record.input,
    output: record.output,
  };
}

export const HEADER = ['RUN', 'STATE', 'OK', 'ERROR', 'TOTAL', 'STARTED', 'FINISHED'];
/** Columns aligned right: the counts. */
const NUMERIC = new Set([2, 3, 4]);

function runsTable(records: RunRecord[]): string {
  if (records.length === 0) return 'no runs under this QUEUE_PREFIX\n';
  return alignedTable([
    HEADER,
    ...records.map((record) => [
      record.run,
      stateWithFailures(record),
      String(record.images.ok),
      String(record.images.error),
      record.listingDone ? String(record.images.total) : `${record.images.total}+`,
      shortTime(record.startedAt),
      shortTime(record.finishedAt),
    ]),
  ]);
}

/** Rows of HEADER's columns, padded to line up; the counts aligned right. Also `runs --output`'s table. */
export function alignedTable(rows: string[][]): string {
  const widths = HEADER.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        return NUMERIC.has(column) ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return `${rows.map(line).join('\n')}\n`;
}

/** ISO time to the second, UTC, as `2026-12-01 13:05:09`; '-' when not yet. */
export function shortTime(iso: string | null): string {
  return iso === null ? '-' : `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}
