import { readPartColumns } from '../../shared/output/read-parts.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import type { ReportRow } from './run-tally.ts';

/** Only these columns are decoded: the report never needs the top-k beyond the first. */
const REPORT_COLUMNS = ['uri', 'status', 'error', 'top_labels', 'top_scores', 'processed_at'];

/** Reads one metadata part (shared/output/read-parts.ts) and yields its rows, reduced to what the report needs. */
export async function* readMetadataPart(store: ObjectStore, uri: string): AsyncGenerator<ReportRow> {
  const table = await readPartColumns(store, uri, REPORT_COLUMNS);
  for (const row of table) {
    const labels = row.top_labels?.toArray() as string[] | undefined;
    const scores = row.top_scores?.toArray() as Float32Array | undefined;
    yield {
      uri: String(row.uri),
      status: row.status === 'ok' ? 'ok' : 'error',
      error: row.error == null ? null : String(row.error),
      label: labels?.[0] ?? null,
      score: scores?.[0] ?? null,
      processedAtMs: toMillis(row.processed_at),
    };
  }
}

/** Arrow hands timestamp[ms] back as a number, or as a bigint/Date depending on version. */
function toMillis(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  return Number(value);
}
