import { type Schema, type Table, tableFromIPC } from 'apache-arrow';
import { readParquet, readSchema } from 'parquet-wasm';
import type { ObjectStore } from '../storage/object-store.ts';
import { relativeKeyWithin } from '../storage/uri.ts';
import { type PartKind, partFolder, partKey, shardOfPartName } from './output-format.ts';

/**
 * The one reader of a run's output parts (the layout of output-format.ts), for everything that
 * reads results back: incremental runs (producer/previous-results.ts) and the run report
 * (ops/report/). Parts are listed under their folder and read one shard at a time, decoding only
 * the columns asked for, so memory is one shard however large the run.
 *
 * Both layouts are read: format 2 (metadata/ holds the images that succeeded, errors/ the inputs
 * that failed) and format 1 (metadata/ held every input, with a `status` column and a nullable
 * `embedding_row`), so the report and `--since` work on runs written before the change.
 */

/**
 * Largest part read, in bytes. A part holds one shard (256 rows by default, a few tens of kB);
 * 256 MiB leaves room for shards of hundreds of thousands of images while refusing a stray huge
 * object before it is buffered.
 */
export const MAX_PART_BYTES = 256 * 1024 * 1024;

export interface OutputPart {
  /** Shard index parsed from the file name. */
  shard: number;
  uri: string;
}

/** One row as plain values, by snake_case column name. */
export type PartRow = Record<string, unknown>;

/** The rows of one shard, split into the images that succeeded and the inputs that failed. */
export interface ShardRows {
  shard: number;
  ok: PartRow[];
  errors: PartRow[];
}

/** The run's parts of one kind, in shard order (by the parsed number, see output-format.ts). */
export async function listParts(
  store: ObjectStore,
  output: string,
  run: string,
  kind: PartKind,
): Promise<OutputPart[]> {
  const folder = partFolder(output, run, kind);
  const parts: OutputPart[] = [];
  for await (const page of store.list(folder)) {
    for (const info of page) {
      const shard = shardOfPartName(relativeKeyWithin(folder, info.uri) ?? '', kind);
      if (shard !== null) parts.push({ shard, uri: info.uri });
    }
  }
  return parts.sort((a, b) => a.shard - b.shard);
}

/** The run's `metadata/part-N.parquet` parts, in shard order. */
export function listMetadataParts(store: ObjectStore, output: string, run: string): Promise<OutputPart[]> {
  return listParts(store, output, run, 'metadata');
}

/** One Parquet part as an Arrow table of the given columns (snake_case names of columns.ts). */
export async function readPartColumns(store: ObjectStore, uri: string, columns: readonly string[]): Promise<Table> {
  const bytes = await store.read(uri, { maxBytes: MAX_PART_BYTES });
  return tableFromIPC(readParquet(bytes, { columns: [...columns] }).intoIPCStream());
}

/**
 * Every shard that has a metadata part, with its rows in either layout: `okColumns` of the
 * images that succeeded and `errorColumns` of the inputs that failed. Shards are read one at a
 * time, `inFlight` parts at once (enough to hide S3 latency, few enough to keep memory small).
 */
export async function* readShardRows(
  store: ObjectStore,
  output: string,
  run: string,
  columns: { ok: readonly string[]; error: readonly string[] },
  inFlight = 8,
): AsyncGenerator<ShardRows> {
  const parts = await listMetadataParts(store, output, run);
  for (let start = 0; start < parts.length; start += inFlight) {
    const batch = parts.slice(start, start + inFlight);
    const shards = await Promise.all(batch.map((part) => readOneShard(store, output, run, part, columns)));
    yield* shards;
  }
}

async function readOneShard(
  store: ObjectStore,
  output: string,
  run: string,
  part: OutputPart,
  columns: { ok: readonly string[]; error: readonly string[] },
): Promise<ShardRows> {
  const bytes = await store.read(part.uri, { maxBytes: MAX_PART_BYTES });
  if (hasColumn(tableFromIPC(readSchema(bytes).intoIPCStream()).schema, 'status')) {
    // Format 1: one part, every input, with `status`.
    const rows = rowsOf(readParquet(bytes, { columns: [...new Set([...columns.ok, ...columns.error, 'status'])] }));
    return {
      shard: part.shard,
      ok: rows.filter((row) => row.status === 'ok'),
      errors: rows.filter((row) => row.status !== 'ok'),
    };
  }
  const ok = rowsOf(readParquet(bytes, { columns: [...columns.ok] }));
  const errorsUri = partKey(output, run, 'errors', part.shard);
  const errorBytes =
    (await store.stat(errorsUri)) === null ? null : await store.read(errorsUri, { maxBytes: MAX_PART_BYTES });
  const errors = errorBytes === null ? [] : rowsOf(readParquet(errorBytes, { columns: [...columns.error] }));
  return { shard: part.shard, ok, errors };
}

function hasColumn(schema: Schema, name: string): boolean {
  return schema.fields.some((field) => field.name === name);
}

function rowsOf(table: ReturnType<typeof readParquet>): PartRow[] {
  return tableFromIPC(table.intoIPCStream())
    .toArray()
    .map((row) => row.toJSON() as PartRow);
}
