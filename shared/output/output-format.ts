/**
 * The output contract: what a run leaves in object storage, and under which keys. No I/O here;
 * worker/write-embeddings.ts and worker/write-parts.ts encode the bytes, the storage layer
 * uploads them, shared/output/read-parts.ts reads them back. The columns are in columns.ts.
 *
 * Layout of one run: embedding-reader's `parquet_npy` layout (also clip-retrieval's), one part
 * per shard, every key depending only on run and shard:
 *
 *   <output>/<run>/embeddings/part-00042.npy      float32 [n_ok, D], '<f4', C order
 *   <output>/<run>/metadata/part-00042.parquet    exactly n_ok rows: the images that succeeded,
 *                                                 row i <-> row i of the .npy
 *   <output>/<run>/errors/part-00042.parquet      one row per input of the shard that failed,
 *                                                 written even when empty (the commit marker)
 *   <output>/<run>/_manifest.json                 RunManifest, written when the run finishes
 *
 * Invariants a reader may rely on:
 * - Row i of metadata/part-N.parquet is row i of embeddings/part-N.npy: zip them, no index
 *   column, no filter. Failed inputs are only in errors/, so they never shift a vector.
 * - Every input of a shard appears exactly once, in metadata/ or in errors/ of that shard.
 * - A shard writes the .npy, then the metadata part, then the errors part, under the same keys on
 *   every attempt. The errors part is the shard's commit marker: when it is present, so are the
 *   other two, complete; a reader never sees a metadata part without its .npy.
 * - Carried columns (extra fields of a .jsonl manifest line) are in both metadata/ and errors/
 *   parts, with the same types in every part of the run.
 * - The shard index in file names is zero-padded to 5 digits (part-00042), so a plain
 *   lexicographic listing returns up to 100,000 shards in order. Index 100000 and above get
 *   longer names (part-123456); a reader of a run that large sorts by the parsed number.
 *
 * Checksums (added in issue 19, same format version: a reader that ignores them loses nothing):
 * - The commit marker's key-value metadata names the sha256 of the shard's .npy and metadata part
 *   (PART_METADATA_KEYS.embeddingsSha256, metadataSha256), computed from the bytes uploaded.
 * - The manifest names the sha256 of every committed part, the markers included (`parts_sha256`,
 *   by path relative to `<output>/<run>/`), and its own digest (`manifest_sha256`, see
 *   manifest-digest.ts), so `resnet-batch verify` detects a part damaged, reordered inside,
 *   deleted or added, and a manifest edited. The digest catches edits and damage, not forgery:
 *   whoever can write the output can recompute it.
 * - Runs written before carry neither: verify checks them as before and counts their parts as
 *   "unverified bytes".
 *
 * Format 1 (runs written before this layout) kept error rows in metadata/ with a `status`
 * column and a nullable `embedding_row`; read-parts.ts still reads it.
 */

import type { Precision } from '../inference/precision.ts';
import { joinUri } from '../storage/uri.ts';
import type { CarriedColumn } from './columns.ts';

/** Bumped when a column, a type or a key changes in a way a reader must know about. */
export const OUTPUT_FORMAT_VERSION = 2;

/** Content type to upload a .npy part with (numpy has no registered media type). */
export const EMBEDDINGS_CONTENT_TYPE = 'application/octet-stream';

/** Content type to upload a .parquet part with (registered with IANA in 2024). */
export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';

/** Digits of the zero-padded shard index in part file names. */
export const SHARD_INDEX_DIGITS = 5;

/** The kinds of part a shard writes, each in its own folder under `<output>/<run>/`. */
export type PartKind = 'embeddings' | 'metadata' | 'errors';

const PART_EXTENSIONS: Record<PartKind, string> = { embeddings: 'npy', metadata: 'parquet', errors: 'parquet' };

/**
 * Keys of the Parquet key-value metadata of every part; the errors part (the commit marker) also
 * carries the shard's counts, so the shard can be counted from storage alone.
 */
export const PART_METADATA_KEYS = {
  formatVersion: 'resnet_batch.format_version',
  shard: 'resnet_batch.shard',
  ok: 'resnet_batch.ok',
  error: 'resnet_batch.error',
  /** shared/run/shard-digest.ts of the inputs the shard was committed for. */
  inputsDigest: 'resnet_batch.inputs_sha256',
  /** The engine that processed the shard (InferenceEngine.name). */
  engine: 'resnet_batch.engine',
  /** Commit marker only: sha256 (hex) of the shard's .npy as uploaded. */
  embeddingsSha256: 'resnet_batch.embeddings_sha256',
  /** Commit marker only: sha256 (hex) of the shard's metadata part as uploaded. */
  metadataSha256: 'resnet_batch.metadata_sha256',
  /**
   * When the run's first attempt started (ISO 8601 UTC), as the worker knew it: a run resumed in
   * a new Redis takes its manifest's started_at from its committed shards.
   */
  runStartedAt: 'resnet_batch.run_started_at',
} as const;

/** How the vectors of a run are scaled: as pooled (`none`) or to unit length (`l2`, `--normalize`). */
export type EmbeddingNormalization = 'none' | 'l2';

/** Written once per run at `<output>/<run>/_manifest.json` when the last shard finishes. */
export interface RunManifest {
  run: string;
  /** Input as given to submit: an s3:// prefix, a folder, or a manifest file URI. */
  input: string;
  output: string;
  model: { id: string; weights_sha256: string };
  /** Precision the run's model ran at: 'fp32', or 'int8' (model.id then ends in /int8-<digest>). */
  precision: Precision;
  /** Every engine name that processed at least one shard of the run. */
  engines: string[];
  /** The vectors: width, type, and whether they were L2-normalised (`--normalize`). */
  embeddings: { dim: number; dtype: 'float32'; normalization: EmbeddingNormalization };
  /** Extra fields of the input's manifest lines, carried into every part as columns. */
  carried_columns: CarriedColumn[];
  images: { total: number; ok: number; error: number; skipped: number };
  shards: { total: number; done: number; failed: number; failed_shards?: number[] };
  /** ISO 8601 UTC, e.g. '2025-01-31T12:00:00.000Z'. */
  started_at: string;
  /** ISO 8601 UTC. */
  finished_at: string;
  format_version: number;
  /**
   * sha256 (hex) of every committed part, by path relative to `<output>/<run>/`
   * (`embeddings/part-00042.npy`, `metadata/...`, `errors/...`). Absent from manifests written
   * before issue 19; a part of an older shard whose marker has no checksums is left out.
   */
  parts_sha256?: Record<string, string>;
  /** manifest-digest.ts of this manifest without this field. Absent before issue 19. */
  manifest_sha256?: string;
}

/** 'part-00042': the file stem of shard 42. */
export function partName(shardIndex: number): string {
  if (!Number.isSafeInteger(shardIndex) || shardIndex < 0) {
    throw new RangeError(`shard index must be a non-negative integer (got ${shardIndex})`);
  }
  return `part-${String(shardIndex).padStart(SHARD_INDEX_DIGITS, '0')}`;
}

/** The shard index of a part file name ('part-00042.parquet' -> 42), or null for any other name. */
export function shardOfPartName(name: string, kind: PartKind): number | null {
  const match = /^part-(\d+)\.([a-z]+)$/.exec(name);
  return match !== null && match[2] === PART_EXTENSIONS[kind] ? Number(match[1]) : null;
}

/**
 * Key builders. Each returns the canonical URI (shared/storage/uri.ts: `s3://bucket/key` or
 * `file:///abs/path`; a plain output path is made absolute) and throws ConfigError when the run
 * id would leave the output prefix (a `..` segment), so a forged run id cannot write elsewhere.
 */

/** `embeddings/part-00042.npy`: a part's path relative to `<output>/<run>/`, as `parts_sha256` keys it. */
export function partPath(kind: PartKind, shardIndex: number): string {
  return `${kind}/${partName(shardIndex)}.${PART_EXTENSIONS[kind]}`;
}

/** `<output>/<run>/<kind>/`: the folder of one kind of part. */
export function partFolder(outputUri: string, runId: string, kind: PartKind): string {
  return joinUri(outputUri, `${runId}/${kind}/`);
}

/** `<output>/<run>/<kind>/part-NNNNN.<npy|parquet>` */
export function partKey(outputUri: string, runId: string, kind: PartKind, shardIndex: number): string {
  return joinUri(outputUri, `${runId}/${partPath(kind, shardIndex)}`);
}

/** `<output>/<run>/embeddings/part-NNNNN.npy` */
export function embeddingsKey(outputUri: string, runId: string, shardIndex: number): string {
  return partKey(outputUri, runId, 'embeddings', shardIndex);
}

/** `<output>/<run>/metadata/part-NNNNN.parquet` */
export function metadataKey(outputUri: string, runId: string, shardIndex: number): string {
  return partKey(outputUri, runId, 'metadata', shardIndex);
}

/** `<output>/<run>/errors/part-NNNNN.parquet`: the shard's commit marker. */
export function errorsKey(outputUri: string, runId: string, shardIndex: number): string {
  return partKey(outputUri, runId, 'errors', shardIndex);
}

/** `<output>/<run>/_manifest.json` */
export function manifestKey(outputUri: string, runId: string): string {
  return joinUri(outputUri, `${runId}/_manifest.json`);
}
