/**
 * Encodes a shard's Parquet parts in memory (the storage layer uploads them): the metadata part
 * (images that succeeded) and the errors part (inputs that failed, the commit marker), with the
 * column tables of shared/output/columns.ts plus the run's carried columns.
 *
 * Library: apache-arrow builds a typed Arrow table, parquet-wasm (the Rust `parquet` crate of
 * Apache Arrow, compiled to WebAssembly) writes it. Chosen over the alternatives because:
 * - arrow-rs is a reference-grade writer used by DataFusion and delta-rs: the standard
 *   3-level LIST encoding, STRING/INT32/FLOAT logical types, TIMESTAMP(MILLIS, UTC) and nulls
 *   come out the way pyarrow, pandas and DuckDB expect, and it embeds the Arrow schema
 *   (ARROW:schema) so pandas restores exact dtypes;
 * - it returns a Uint8Array (no file system), with SNAPPY and ZSTD built in;
 * - it shares no code with hyparquet, so the tests read our files with an independent reader.
 *   hyparquet-writer (small, pure JS, maintained) was the runner-up, but it imports hyparquet's
 *   own schema code, so a hyparquet round-trip would prove little; parquetjs is unmaintained
 *   and writes bare repeated fields, not LIST-annotated groups; @dsnp/parquetjs needs the
 *   nested LIST layout spelled out by hand and pulls the AWS SDK, thrift and a virtual file
 *   system.
 * Cost: a 5 MB wasm module loaded once per process (about 0.5 s at import) and ~9 MB of
 * apache-arrow on disk; encoding a 256-row shard then takes about 20 ms.
 *
 * Compression is SNAPPY: a part is a few tens of KB, so ratio hardly matters, and snappy is the
 * one codec every reader decodes without extras (hyparquet needs a plugin for ZSTD).
 */
import type { DataType, Table } from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';
import { arrow } from '../shared/output/arrow.ts';
import {
  type CarriedColumn,
  type CarriedFields,
  type ColumnSpec,
  type ColumnType,
  ERROR_COLUMNS,
  type ErrorRow,
  METADATA_COLUMNS,
  type MetadataRow,
  ownField,
} from '../shared/output/columns.ts';
import { OUTPUT_FORMAT_VERSION, PART_METADATA_KEYS } from '../shared/output/output-format.ts';

// The single-file build (shared/output/arrow.ts): 150 ms less at every worker start.
const {
  Bool,
  Field,
  Float32,
  Float64,
  Int32,
  Int64,
  List,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimestampMillisecond,
  tableToIPC,
  Utf8,
  vectorFromArray,
} = arrow;

/** Key of the Parquet key-value metadata entry that carries OUTPUT_FORMAT_VERSION. */
export const FORMAT_VERSION_METADATA_KEY = PART_METADATA_KEYS.formatVersion;

/** The metadata part: `rows` in .npy row order. Zero rows give a valid file (schema, no data). */
export function encodeMetadataParquet(rows: readonly MetadataRow[], carried: readonly CarriedColumn[] = []): Buffer {
  rows.forEach((row, index) => {
    checkSize(row, index);
  });
  return encodeParquet(METADATA_COLUMNS, rows, carried, new Map());
}

/**
 * The errors part, the shard's commit marker: its key-value metadata also says the shard's index
 * and its counts, so a committed shard can be counted from storage alone.
 */
export function encodeErrorsParquet(
  rows: readonly ErrorRow[],
  carried: readonly CarriedColumn[],
  commit: {
    shard: number;
    ok: number;
    inputsDigest?: string;
    engine?: string;
    /** When the run first started (ISO 8601), so that a resume keeps the first started_at. */
    runStartedAt?: string;
    /** sha256 (hex) of the .npy and the metadata part as uploaded (output-format.ts, Checksums). */
    partsSha256?: { embeddings: string; metadata: string };
  },
): Buffer {
  rows.forEach((row, index) => {
    checkSize(row, index);
    if (!/^[A-Z][A-Z0-9_]*: /.test(row.error)) {
      throw new RangeError(
        `error row ${index} (${row.uri}): error must read 'CODE: reason' (got ${JSON.stringify(row.error)})`,
      );
    }
  });
  const extra = new Map([
    [PART_METADATA_KEYS.shard, String(commit.shard)],
    [PART_METADATA_KEYS.ok, String(commit.ok)],
    [PART_METADATA_KEYS.error, String(rows.length)],
    ...(commit.inputsDigest === undefined
      ? []
      : [[PART_METADATA_KEYS.inputsDigest, commit.inputsDigest] as [string, string]]),
    ...(commit.partsSha256 === undefined
      ? []
      : ([
          [PART_METADATA_KEYS.embeddingsSha256, commit.partsSha256.embeddings],
          [PART_METADATA_KEYS.metadataSha256, commit.partsSha256.metadata],
        ] as [string, string][])),
    // The engine was passed here but never written, so a resumed run counted its shards' engine
    // as 'unknown' (issue 19); the run's start lets a resume keep the first started_at.
    ...(commit.engine === undefined ? [] : [[PART_METADATA_KEYS.engine, commit.engine] as [string, string]]),
    ...(commit.runStartedAt === undefined
      ? []
      : [[PART_METADATA_KEYS.runStartedAt, commit.runStartedAt] as [string, string]]),
  ]);
  return encodeParquet(ERROR_COLUMNS, rows, carried, extra);
}

function encodeParquet<Row extends { fields: CarriedFields }>(
  columns: readonly ColumnSpec<Row>[],
  rows: readonly Row[],
  carried: readonly CarriedColumn[],
  metadata: Map<string, string>,
): Buffer {
  const ipc = tableToIPC(toArrowTable(columns, rows, carried), 'stream');
  const properties = new WriterPropertiesBuilder()
    .setCompression(Compression.SNAPPY)
    .setKeyValueMetadata(new Map([[PART_METADATA_KEYS.formatVersion, String(OUTPUT_FORMAT_VERSION)], ...metadata]))
    .build();
  // writeParquet takes ownership of the wasm table and properties and frees them.
  const bytes = writeParquet(WasmTable.fromIPCStream(ipc), properties);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function toArrowTable<Row extends { fields: CarriedFields }>(
  columns: readonly ColumnSpec<Row>[],
  rows: readonly Row[],
  carried: readonly CarriedColumn[],
): Table {
  const own = columns.map((column) => ({
    field: new Field(column.name, arrowType(column.type), column.nullable),
    values: rows.map((row) => toArrowValue(row[column.field], column.type)),
  }));
  const extra = carried.map((column) => ({
    field: new Field(column.name, arrowType(column.type), true),
    values: rows.map((row) => toArrowValue(ownField(row.fields, column.name), column.type)),
  }));
  const all = [...own, ...extra];
  const fields = all.map((column) => column.field);
  const schema = new Schema(fields);
  const children = all.map((column) => vectorFromArray(column.values, column.field.type).data[0]!);
  const data = makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children });
  return new arrow.Table(schema, new RecordBatch(schema, data));
}

function arrowType(type: ColumnType): DataType {
  // List elements are required and named 'element', as the Parquet LIST spec and pyarrow name them.
  const listOf = (element: DataType) => new List(new Field('element', element, false));
  switch (type) {
    case 'string':
      return new Utf8();
    case 'int32':
      return new Int32();
    case 'int64':
      return new Int64();
    case 'float64':
      return new Float64();
    case 'bool':
      return new Bool();
    case 'list<string>':
      return listOf(new Utf8());
    case 'list<int32>':
      return listOf(new Int32());
    case 'list<float32>':
      return listOf(new Float32());
    case 'timestamp[ms, UTC]':
      return new TimestampMillisecond('UTC');
  }
}

// Values in the shape apache-arrow's builders take: BigInt for int64, epoch millis for timestamps.
function toArrowValue(value: unknown, type: ColumnType): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'int64') return BigInt(value as number);
  if (value instanceof Date) return value.getTime();
  return value;
}

function checkSize(row: { uri: string; sizeBytes: number }, index: number): void {
  if (!Number.isSafeInteger(row.sizeBytes) || row.sizeBytes < 0) {
    throw new RangeError(`row ${index} (${row.uri}): sizeBytes must be a non-negative integer (got ${row.sizeBytes})`);
  }
}
