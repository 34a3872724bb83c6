import { createHash } from 'node:crypto';
import type { Schema } from 'apache-arrow';
import { readParquet, readSchema } from 'parquet-wasm';
import { ObjectNotFoundError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { relativeKeyWithin } from '../storage/uri.ts';
import { arrow } from './arrow.ts';
import {
  manifestKey,
  PART_METADATA_KEYS,
  type PartKind,
  partFolder,
  partKey,
  type RunManifest,
  shardOfPartName,
} from './output-format.ts';

/**
 * The one reader of a run's output parts (the layout of output-format.ts), for everything that
 * reads results back: incremental runs (producer/previous-results.ts) and the run report
 * (ops/report/). Parts are listed under their folder and read a few shards at a time, keeping
 * only the columns asked for, so memory is a few shards however large the run.
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
/** A manifest is a few KB per thousand shards (its parts' checksums); 16 MiB bounds a hostile one. */
const MANIFEST_MAX_BYTES = 16 * 1024 * 1024;

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

/** One shard's rows (either format), or null when it has no metadata part. */
export async function readShard(
  store: ObjectStore,
  output: string,
  run: string,
  shard: number,
  columns: { ok: readonly string[]; error: readonly string[] },
): Promise<ShardRows | null> {
  const uri = partKey(output, run, 'metadata', shard);
  if ((await store.stat(uri)) === null) return null;
  return readOneShard(store, output, run, { shard, uri }, columns);
}

/** The number of vectors in a shard's .npy (its header's first dimension), or null when there is none. */
export async function vectorCount(
  store: ObjectStore,
  output: string,
  run: string,
  shard: number,
): Promise<number | null> {
  const uri = partKey(output, run, 'embeddings', shard);
  const bytes = await readPartIfPresent(store, uri);
  return bytes === null ? null : npyRowCount(uri, bytes);
}

/** Bytes of a .npy (version 1.0) up to the end of its header length field. */
export const NPY_PREAMBLE_BYTES = 10;

/** The first dimension of a 2-D .npy, from its first bytes (at least the preamble and header). */
export function npyRowCount(uri: string, head: Buffer): number {
  const header = head.subarray(NPY_PREAMBLE_BYTES, NPY_PREAMBLE_BYTES + head.readUInt16LE(8)).toString('latin1');
  const rows = /'shape': \((\d+),/.exec(header)?.[1];
  if (rows === undefined)
    throw new Error(`${uri} is not a 2-D .npy file (header ${JSON.stringify(header.slice(0, 80))})`);
  return Number(rows);
}

async function readOneShard(
  store: ObjectStore,
  output: string,
  run: string,
  part: OutputPart,
  columns: { ok: readonly string[]; error: readonly string[] },
): Promise<ShardRows> {
  const bytes = await store.read(part.uri, { maxBytes: MAX_PART_BYTES });
  if (isFormat1(bytes)) return shardRowsOf(part.shard, bytes, null, columns);
  const errorBytes = await readPartIfPresent(store, partKey(output, run, 'errors', part.shard));
  return shardRowsOf(part.shard, bytes, errorBytes, columns);
}

function isFormat1(metadataPart: Uint8Array): boolean {
  return hasColumn(arrow.tableFromIPC(readSchema(metadataPart).intoIPCStream()).schema, 'status');
}

/** A shard's rows from its parts' bytes already read (either format; format 1 needs no errors part). */
export function shardRowsOf(
  shard: number,
  metadataPart: Uint8Array,
  errorsPart: Uint8Array | null,
  columns: { ok: readonly string[]; error: readonly string[] },
): ShardRows {
  if (isFormat1(metadataPart)) {
    // Format 1: one part, every input, with `status`.
    const rows = rowsOf(metadataPart, ['status', ...columns.ok, ...columns.error]);
    return {
      shard,
      ok: rows.filter((row) => row.status === 'ok').map((row) => pick(row, columns.ok)),
      errors: rows.filter((row) => row.status !== 'ok').map((row) => pick(row, columns.error)),
    };
  }
  const ok = rowsOf(metadataPart, columns.ok);
  return { shard, ok, errors: errorsPart === null ? [] : rowsOf(errorsPart, columns.error) };
}

function hasColumn(schema: Schema, name: string): boolean {
  return schema.fields.some((field) => field.name === name);
}

/**
 * The rows of a part with only `columns`. parquet-wasm 0.8's readParquet decodes every column
 * whatever its `columns` option says, so the projection is applied here, row by row.
 */
function rowsOf(bytes: Uint8Array, columns: readonly string[]): PartRow[] {
  return arrow
    .tableFromIPC(readParquet(bytes).intoIPCStream())
    .toArray()
    .map((row) => pick(row.toJSON() as PartRow, columns));
}

function pick(row: PartRow, columns: readonly string[]): PartRow {
  return Object.fromEntries(columns.map((column) => [column, row[column]]));
}

/** A shard's commit marker (its errors part): the shard is complete, with these counts. */
export interface CommitMarker {
  shard: number;
  ok: number;
  error: number;
  /** shared/run/shard-digest.ts of the inputs it was committed for. */
  inputsDigest: string;
  /** The engine that processed it; null for markers written before it was recorded. */
  engine: string | null;
  /** When the run's first attempt started (PART_METADATA_KEYS.runStartedAt); null when not recorded. */
  runStartedAt: string | null;
  /** sha256 (hex) of the marker's own bytes, as read. */
  sha256: string;
  /** The data parts' checksums the marker records, or null for a shard committed before them. */
  partsSha256: { embeddings: string; metadata: string } | null;
}

/** The commit marker of one shard, or null when the shard is not committed. */
export async function readCommitMarker(
  store: ObjectStore,
  output: string,
  run: string,
  shard: number,
): Promise<CommitMarker | null> {
  const bytes = await readPartIfPresent(store, partKey(output, run, 'errors', shard));
  return bytes === null ? null : markerOf(shard, bytes);
}

/** Every commit marker of a run, in shard order, `inFlight` read at once. */
export async function* readCommitMarkers(
  store: ObjectStore,
  output: string,
  run: string,
  inFlight = 8,
): AsyncGenerator<CommitMarker> {
  const parts = await listParts(store, output, run, 'errors');
  for (let start = 0; start < parts.length; start += inFlight) {
    const batch = parts.slice(start, start + inFlight);
    yield* await Promise.all(
      batch.map(async (part) => markerOf(part.shard, await store.read(part.uri, { maxBytes: MAX_PART_BYTES }))),
    );
  }
}

/** The facts a marker's key-value metadata records (worker/write-parts.ts encodeErrorsParquet). */
export function markerOf(shard: number, bytes: Uint8Array): CommitMarker {
  const metadata = arrow.tableFromIPC(readSchema(bytes).intoIPCStream()).schema.metadata;
  const count = (key: string): number => {
    const value = Number(metadata.get(key));
    if (!Number.isSafeInteger(value) || value < 0)
      throw new Error(`commit marker of shard ${shard} has no valid '${key}' (got ${metadata.get(key)})`);
    return value;
  };
  return {
    shard,
    ok: count(PART_METADATA_KEYS.ok),
    error: count(PART_METADATA_KEYS.error),
    inputsDigest: metadata.get(PART_METADATA_KEYS.inputsDigest) ?? '',
    engine: metadata.get(PART_METADATA_KEYS.engine) ?? null,
    runStartedAt: isoTime(metadata.get(PART_METADATA_KEYS.runStartedAt)),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    partsSha256: partsSha256Of(metadata),
  };
}

function partsSha256Of(metadata: Map<string, string>): CommitMarker['partsSha256'] {
  const embeddings = metadata.get(PART_METADATA_KEYS.embeddingsSha256);
  const parquet = metadata.get(PART_METADATA_KEYS.metadataSha256);
  return embeddings === undefined || parquet === undefined ? null : { embeddings, metadata: parquet };
}

/** An ISO 8601 UTC time as the worker writes it, or null for anything else (absent, edited). */
function isoTime(value: string | undefined): string | null {
  return value !== undefined &&
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(value) &&
    !Number.isNaN(Date.parse(value))
    ? value
    : null;
}

/** A part's bytes, or null when it is not there (a shard not committed, or no ok row). */
async function readPartIfPresent(store: ObjectStore, uri: string): Promise<Buffer | null> {
  if ((await store.stat(uri)) === null) return null;
  return store.read(uri, { maxBytes: MAX_PART_BYTES });
}

/** The run's _manifest.json, or null while the run has not finished (it is written last). */
export async function readManifest(store: ObjectStore, output: string, run: string): Promise<RunManifest | null> {
  try {
    return JSON.parse(
      (await store.read(manifestKey(output, run), { maxBytes: MANIFEST_MAX_BYTES })).toString('utf8'),
    ) as RunManifest;
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return null;
    throw error;
  }
}
