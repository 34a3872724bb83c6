import { readShardRows } from '../../shared/output/read-parts.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import type { ReportRow } from './run-tally.ts';

/** Only these columns are decoded: the report never needs the top-k beyond the first. */
const OK_COLUMNS = ['uri', 'top_labels', 'top_scores', 'processed_at'];
const ERROR_COLUMNS = ['uri', 'error', 'processed_at'];

/**
 * Every row of a run (shared/output/read-parts.ts, either output format), reduced to what the
 * report needs, shard by shard. Also says how many shards it read.
 */
export async function* readReportRows(store: ObjectStore, output: string, run: string): AsyncGenerator<ReportRow> {
  for await (const shard of readShardRows(store, output, run, { ok: OK_COLUMNS, error: ERROR_COLUMNS })) {
    for (const row of shard.ok) {
      yield {
        uri: String(row.uri),
        status: 'ok',
        error: null,
        label: (listOf(row.top_labels)[0] as string | undefined) ?? null,
        score: (listOf(row.top_scores)[0] as number | undefined) ?? null,
        processedAtMs: toMillis(row.processed_at),
        shard: shard.shard,
      };
    }
    for (const row of shard.errors) {
      yield {
        uri: String(row.uri),
        status: 'error',
        error: row.error == null ? null : String(row.error),
        label: null,
        score: null,
        processedAtMs: toMillis(row.processed_at),
        shard: shard.shard,
      };
    }
  }
}

/** Arrow hands list columns back as Vectors. */
function listOf(value: unknown): unknown[] {
  if (value == null) return [];
  return Array.from((value as { toArray(): ArrayLike<unknown> }).toArray());
}

/** Arrow hands timestamp[ms] back as a number, or as a bigint/Date depending on version. */
function toMillis(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  return Number(value);
}
