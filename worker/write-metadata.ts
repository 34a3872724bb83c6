/**
 * Encodes a shard's metadata rows as one Parquet file in memory (the storage layer uploads it).
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
 * Compression is SNAPPY: a metadata file is a few tens of KB, so ratio hardly matters, and snappy
 * is the one codec every reader decodes without extras (hyparquet needs a plugin for ZSTD).
 */
import {
  type DataType,
  Field,
  Float32,
  Int32,
  Int64,
  List,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMillisecond,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';
import {
  type ColumnSpec,
  type ColumnType,
  METADATA_COLUMNS,
  type MetadataRow,
  OUTPUT_FORMAT_VERSION,
} from '../shared/output/output-format.ts';

/** Key of the Parquet key-value metadata entry that carries OUTPUT_FORMAT_VERSION. */
export const FORMAT_VERSION_METADATA_KEY = 'resnet_batch.format_version';

/**
 * One Parquet file holding `rows` in the given order, columns as in METADATA_COLUMNS. A shard
 * always has at least one row, but zero rows also give a valid file (schema, no data).
 * Throws RangeError when a row breaks the ok/error invariants of MetadataRow.
 */
export function encodeMetadataParquet(rows: readonly MetadataRow[]): Buffer {
  rows.forEach(checkRow);
  const ipc = tableToIPC(toArrowTable(rows), 'stream');
  const properties = new WriterPropertiesBuilder()
    .setCompression(Compression.SNAPPY)
    .setKeyValueMetadata(new Map([[FORMAT_VERSION_METADATA_KEY, String(OUTPUT_FORMAT_VERSION)]]))
    .build();
  // writeParquet takes ownership of the wasm table and properties and frees them.
  const bytes = writeParquet(WasmTable.fromIPCStream(ipc), properties);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function toArrowTable(rows: readonly MetadataRow[]): Table {
  const fields = METADATA_COLUMNS.map((column) => new Field(column.name, arrowType(column.type), column.nullable));
  const schema = new Schema(fields);
  const children = METADATA_COLUMNS.map((column, i) => {
    const vector = vectorFromArray(columnValues(rows, column), fields[i]!.type);
    return vector.data[0]!;
  });
  const data = makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children });
  return new Table(schema, new RecordBatch(schema, data));
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
function columnValues(rows: readonly MetadataRow[], column: ColumnSpec): unknown[] {
  return rows.map((row) => {
    const value = row[column.field];
    if (value === null) return null;
    if (column.type === 'int64') return BigInt(value as number);
    if (value instanceof Date) return value.getTime();
    return value;
  });
}

function checkRow(row: MetadataRow, index: number): void {
  const problem =
    row.status === 'ok'
      ? row.error !== null || row.embeddingRow === null
        ? 'an ok row has error null and an embeddingRow'
        : null
      : row.status === 'error'
        ? row.error === null || row.embeddingRow !== null
          ? 'an error row has an error message and embeddingRow null'
          : null
        : "status is 'ok' or 'error'";
  if (problem !== null) {
    throw new RangeError(
      `metadata row ${index} (${row.uri}) breaks the output contract: expected ${problem}, received ` +
        `status=${String(row.status)} error=${JSON.stringify(row.error)} embeddingRow=${row.embeddingRow}; fix the code that built the row`,
    );
  }
  if (!Number.isSafeInteger(row.sizeBytes) || row.sizeBytes < 0) {
    throw new RangeError(
      `metadata row ${index} (${row.uri}): sizeBytes must be a non-negative integer (got ${row.sizeBytes})`,
    );
  }
}
