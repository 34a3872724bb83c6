import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { joinUri, relativeKeyWithin } from '../../shared/storage/uri.ts';
import type { ReportRow } from './run-tally.ts';

/**
 * Largest metadata part read, in bytes. A part holds one shard (256 rows by default, a few tens
 * of kB); 256 MiB leaves room for shards of hundreds of thousands of images while refusing a
 * stray huge object before it is buffered.
 */
export const MAX_METADATA_PART_BYTES = 256 * 1024 * 1024;

/** Only these columns are decoded: the report never needs the top-k beyond the first. */
const REPORT_COLUMNS = ['uri', 'status', 'error', 'top_labels', 'top_scores', 'processed_at'];

/** The run's `metadata/part-N.parquet` URIs, in shard order (parsed numbers, see output-format.ts). */
export async function listMetadataParts(store: ObjectStore, output: string, run: string): Promise<string[]> {
  const folder = joinUri(output, `${run}/metadata`);
  const parts: { uri: string; shard: number }[] = [];
  for await (const page of store.list(`${folder}/`)) {
    for (const info of page) {
      const match = /^part-(\d+)\.parquet$/.exec(relativeKeyWithin(folder, info.uri) ?? '');
      if (match) parts.push({ uri: info.uri, shard: Number(match[1]) });
    }
  }
  return parts.sort((a, b) => a.shard - b.shard).map((part) => part.uri);
}

/** Reads one part and yields its rows, reduced to what the report needs. */
export async function* readMetadataPart(store: ObjectStore, uri: string): AsyncGenerator<ReportRow> {
  const bytes = await store.read(uri, { maxBytes: MAX_METADATA_PART_BYTES });
  const table = tableFromIPC(readParquet(bytes, { columns: REPORT_COLUMNS }).intoIPCStream());
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
