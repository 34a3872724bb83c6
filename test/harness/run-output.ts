import assert from 'node:assert/strict';
import { parquetReadObjects } from 'hyparquet';
import { parse as parseNpy } from 'npyjs';
import type { RunManifest } from '../../shared/output/output-format.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { joinUri } from '../../shared/storage/uri.ts';

/**
 * A run's output read back by independent readers (hyparquet for the Parquet parts, npyjs for
 * the .npy parts), so the assertions trust no decoder of our own; and the checks every run's
 * output must pass.
 */

/** One row of a metadata part as hyparquet reads it (snake_case columns): an image that succeeded. */
export interface MetadataReadRow {
  uri: string;
  etag: string;
  size_bytes: bigint | number;
  width: number;
  height: number;
  top_labels: string[];
  top_indices: number[];
  top_scores: number[];
  model: string;
  engine: string;
  [carried: string]: unknown;
}

/** One row of an errors part: an input that failed. */
export interface ErrorReadRow {
  uri: string;
  etag: string;
  size_bytes: bigint | number;
  error: string;
  [carried: string]: unknown;
}

/** Every input of a shard, whichever part it is in: what the "one row per input" checks look at. */
export interface ReadRow {
  uri: string;
  status: 'ok' | 'error';
  /** `CODE: reason` of a failed input; null when ok. */
  error: string | null;
  /** Null when failed. */
  top_labels: string[] | null;
  [column: string]: unknown;
}

export interface ReadPart {
  shard: number;
  /** The metadata part, in .npy row order. */
  metadata: MetadataReadRow[];
  /** The errors part (the commit marker). */
  errors: ErrorReadRow[];
  /** metadata then errors rows, as ReadRow. */
  rows: ReadRow[];
  npyShape: number[];
  npyData: Float32Array;
}

export interface RunOutput {
  /** Every object key under `<output>/<run>/`, relative to it, sorted. */
  keys: string[];
  parts: ReadPart[];
  manifest: RunManifest;
}

/**
 * Lists and reads everything a run wrote under `<output>/<run>/`. Every shard with a metadata
 * part must have its errors part (the commit marker) and its .npy, or this throws.
 */
export async function readRunOutput(store: ObjectStore, output: string, run: string): Promise<RunOutput> {
  const root = joinUri(output, run).replace(/\/+$/, '');
  const keys: string[] = [];
  for await (const page of store.list(`${root}/`)) for (const info of page) keys.push(info.uri.slice(root.length + 1));
  keys.sort();
  const parts: ReadPart[] = [];
  for (const key of keys) {
    const match = /^metadata\/part-(\d+)\.parquet$/.exec(key);
    if (!match?.[1]) continue;
    const read = async (path: string) => arrayBufferOf(await store.read(`${root}/${path}`));
    const metadata = (await parquetReadObjects({ file: await read(key) })) as unknown as MetadataReadRow[];
    const errors = (await parquetReadObjects({
      file: await read(`errors/part-${match[1]}.parquet`),
    })) as unknown as ErrorReadRow[];
    const npy = parseNpy(await read(`embeddings/part-${match[1]}.npy`));
    const rows: ReadRow[] = [
      ...metadata.map((row) => ({ ...row, status: 'ok' as const, error: null })),
      ...errors.map((row) => ({ ...row, status: 'error' as const, top_labels: null })),
    ];
    parts.push({
      shard: Number(match[1]),
      metadata,
      errors,
      rows,
      npyShape: npy.shape,
      npyData: npy.data as Float32Array,
    });
  }
  const manifest = JSON.parse((await store.read(`${root}/_manifest.json`)).toString('utf8')) as RunManifest;
  return { keys, parts, manifest };
}

/** The keys a complete, undisturbed run of `shards` shards leaves under `<output>/<run>/`. */
export function completeRunKeys(shards: number): string[] {
  const parts = Array.from({ length: shards }, (_, shard) => `part-${String(shard).padStart(5, '0')}`);
  return [
    '_manifest.json',
    '_run.json',
    ...parts.map((part) => `embeddings/${part}.npy`),
    ...parts.map((part) => `errors/${part}.parquet`),
    ...parts.map((part) => `metadata/${part}.parquet`),
  ].sort();
}

/** Every input name has exactly one row in metadata/ or errors/ (matched by the URI's last segment), and nothing else has one. */
export function assertOneRowPerInput(output: RunOutput, names: readonly string[]): void {
  const rowNames = output.parts.flatMap((part) => part.rows).map((row) => row.uri.slice(row.uri.lastIndexOf('/') + 1));
  assert.equal(rowNames.length, names.length, `rows ${rowNames.length}, inputs ${names.length}`);
  assert.deepEqual(rowNames.sort(), [...names].sort());
}

/** Each part's .npy is n x 2048 for its n metadata rows (row i <-> row i). */
export function assertNpyMatchesOkRows(output: RunOutput): void {
  for (const part of output.parts) {
    assert.deepEqual(part.npyShape, [part.metadata.length, 2048], `part ${part.shard}`);
  }
}

/** A copy of `bytes` in an ArrayBuffer of its own, as hyparquet and npyjs take. */
export function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}
