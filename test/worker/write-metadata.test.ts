import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FileMetaData, parquetMetadata, parquetReadObjects, type SchemaElement } from 'hyparquet';
import { type MetadataRow, OUTPUT_FORMAT_VERSION } from '../../shared/output/output-format.ts';
import { encodeMetadataParquet, FORMAT_VERSION_METADATA_KEY } from '../../worker/write-metadata.ts';

// hyparquet shares no code with the writer (arrow-rs via parquet-wasm): an independent reader.
const PROCESSED_AT = new Date('2025-03-04T05:06:07.891Z');

function okRow(uri: string, embeddingRow: number): MetadataRow {
  return {
    uri,
    etag: `etag-${embeddingRow}`,
    sizeBytes: 1000 + embeddingRow,
    width: 451,
    height: 300,
    status: 'ok',
    error: null,
    embeddingRow,
    topLabels: ['tabby', 'tiger cat', 'Egyptian cat', 'lynx', 'tiger'],
    topIndices: [281, 282, 285, 287, 292],
    topScores: [0.61, 0.2, 0.1, 0.05, 0.012],
    model: 'resnet50-imagenet',
    engine: 'tfjs-node',
    processedAt: PROCESSED_AT,
  };
}

function errorRow(uri: string): MetadataRow {
  return {
    ...okRow(uri, 0),
    sizeBytes: 0,
    width: null,
    height: null,
    status: 'error',
    error: 'EMPTY: object has zero bytes',
    embeddingRow: null,
    topLabels: null,
    topIndices: null,
    topScores: null,
  };
}

const SAMPLE: MetadataRow[] = [
  okRow('s3://bucket/in/chelsea.png', 0),
  errorRow('s3://bucket/in/empty.jpg'),
  okRow('s3://bucket/in/coffee.png', 1),
];

function arrayBufferOf(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

async function readRows(rows: MetadataRow[]): Promise<Record<string, unknown>[]> {
  return parquetReadObjects({ file: arrayBufferOf(encodeMetadataParquet(rows)) });
}

function readMetadata(rows: MetadataRow[]): FileMetaData {
  return parquetMetadata(arrayBufferOf(encodeMetadataParquet(rows)));
}

/** The schema element of a top-level column and, for a list, its repeated group and element. */
function columnSchema(metadata: FileMetaData, name: string): SchemaElement[] {
  const start = metadata.schema.findIndex((element) => element.name === name);
  assert.ok(start > 0, `column ${name} is in the schema`);
  const span = metadata.schema[start]!.num_children ? 3 : 1;
  return metadata.schema.slice(start, start + span);
}

describe('encodeMetadataParquet', () => {
  it('writes one row per input row, in order', async () => {
    const rows = await readRows(SAMPLE);
    assert.deepEqual(
      rows.map((row) => row.uri),
      SAMPLE.map((row) => row.uri),
    );
  });

  it('names the columns in snake_case in the contract order', () => {
    const names = readMetadata(SAMPLE)
      .schema.slice(1)
      .filter((element) => element.name !== 'list' && element.name !== 'element');
    assert.deepEqual(
      names.map((element) => element.name),
      [
        'uri',
        'etag',
        'size_bytes',
        'width',
        'height',
        'status',
        'error',
        'embedding_row',
        'top_labels',
        'top_indices',
        'top_scores',
        'model',
        'engine',
        'processed_at',
      ],
    );
  });

  it('reads every column of an ok row back with its value', async () => {
    const [row] = await readRows([okRow('s3://bucket/in/chelsea.png', 7)]);
    assert.deepEqual(
      { ...row, top_scores: undefined },
      {
        uri: 's3://bucket/in/chelsea.png',
        etag: 'etag-7',
        size_bytes: 1007n,
        width: 451,
        height: 300,
        status: 'ok',
        error: null,
        embedding_row: 7,
        top_labels: ['tabby', 'tiger cat', 'Egyptian cat', 'lynx', 'tiger'],
        top_indices: [281, 282, 285, 287, 292],
        top_scores: undefined,
        model: 'resnet50-imagenet',
        engine: 'tfjs-node',
        processed_at: PROCESSED_AT,
      },
    );
  });

  it('stores the five top scores as float32, equal to the inputs within float32 precision', async () => {
    const [row] = await readRows([okRow('s3://b/a.png', 0)]);
    const scores = row!.top_scores as number[];
    assert.equal(scores.length, 5);
    scores.forEach((score, i) => {
      assert.equal(score, Math.fround(okRow('', 0).topScores![i]!));
    });
  });

  it('writes nulls on error rows for width, height, embedding_row and the three lists', async () => {
    const [row] = await readRows([errorRow('s3://bucket/in/empty.jpg')]);
    assert.deepEqual(
      [row!.width, row!.height, row!.embedding_row, row!.top_labels, row!.top_indices, row!.top_scores],
      [null, null, null, null, null, null],
    );
    assert.equal(row!.status, 'error');
    assert.equal(row!.error, 'EMPTY: object has zero bytes');
  });

  it('keeps unicode URIs intact', async () => {
    const uris = [
      's3://bucket/фото/猫 (1).jpg',
      'file:///data/%C3%A9t%C3%A9/caf%C3%A9.png',
      's3://bucket/emoji-🐈.png',
    ];
    const rows = await readRows(uris.map((uri, i) => okRow(uri, i)));
    assert.deepEqual(
      rows.map((row) => row.uri),
      uris,
    );
  });

  it('keeps sizes above 4 GiB exact in the int64 size_bytes column', async () => {
    const [row] = await readRows([{ ...okRow('s3://b/big.tif', 0), sizeBytes: 2 ** 40 + 3 }]);
    assert.equal(row!.size_bytes, 2n ** 40n + 3n);
  });

  it('types strings as UTF8 byte arrays with the STRING logical type', () => {
    const metadata = readMetadata(SAMPLE);
    for (const name of ['uri', 'etag', 'status', 'error', 'model', 'engine']) {
      const [element] = columnSchema(metadata, name);
      assert.equal(element!.type, 'BYTE_ARRAY', name);
      assert.equal(element!.converted_type, 'UTF8', name);
      assert.deepEqual(element!.logical_type, { type: 'STRING' }, name);
    }
  });

  it('types size_bytes as INT64 and width, height and embedding_row as INT32', () => {
    const metadata = readMetadata(SAMPLE);
    assert.equal(columnSchema(metadata, 'size_bytes')[0]!.type, 'INT64');
    for (const name of ['width', 'height', 'embedding_row'])
      assert.equal(columnSchema(metadata, name)[0]!.type, 'INT32', name);
  });

  it('marks the error-only columns OPTIONAL and the always-present ones REQUIRED', () => {
    const metadata = readMetadata(SAMPLE);
    const repetition = (name: string) => columnSchema(metadata, name)[0]!.repetition_type;
    for (const name of ['width', 'height', 'error', 'embedding_row', 'top_labels'])
      assert.equal(repetition(name), 'OPTIONAL', name);
    for (const name of ['uri', 'etag', 'size_bytes', 'status', 'model', 'engine', 'processed_at'])
      assert.equal(repetition(name), 'REQUIRED', name);
  });

  it('encodes the list columns as standard 3-level LISTs of required elements', () => {
    const metadata = readMetadata(SAMPLE);
    const expected = { top_labels: 'BYTE_ARRAY', top_indices: 'INT32', top_scores: 'FLOAT' };
    for (const [name, elementType] of Object.entries(expected)) {
      const [outer, repeated, element] = columnSchema(metadata, name);
      assert.deepEqual(
        [outer!.converted_type, outer!.logical_type?.type, outer!.num_children],
        ['LIST', 'LIST', 1],
        name,
      );
      assert.deepEqual(
        [repeated!.name, repeated!.repetition_type, repeated!.num_children],
        ['list', 'REPEATED', 1],
        name,
      );
      assert.deepEqual(
        [element!.name, element!.repetition_type, element!.type],
        ['element', 'REQUIRED', elementType],
        name,
      );
    }
  });

  it('types processed_at as a UTC millisecond TIMESTAMP', () => {
    const [element] = columnSchema(readMetadata(SAMPLE), 'processed_at');
    assert.equal(element!.type, 'INT64');
    assert.deepEqual(element!.logical_type, { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' });
  });

  it('compresses every column chunk with snappy', () => {
    const codecs = readMetadata(SAMPLE).row_groups.flatMap((group) =>
      group.columns.map((column) => column.meta_data?.codec),
    );
    assert.equal(codecs.length, 14);
    assert.ok(
      codecs.every((codec) => codec === 'SNAPPY'),
      codecs.join(','),
    );
  });

  it('records the output format version in the key-value metadata', () => {
    const entry = readMetadata(SAMPLE).key_value_metadata?.find((kv) => kv.key === FORMAT_VERSION_METADATA_KEY);
    assert.equal(entry?.value, String(OUTPUT_FORMAT_VERSION));
  });

  it('round-trips a full 256-row shard with ok and error rows interleaved', async () => {
    let next = 0;
    const input = Array.from({ length: 256 }, (_, i) =>
      i % 7 === 3 ? errorRow(`s3://b/${i}.jpg`) : okRow(`s3://b/${i}.jpg`, next++),
    );
    const rows = await readRows(input);
    assert.equal(rows.length, 256);
    assert.deepEqual(
      rows.map((row) => row.embedding_row),
      input.map((row) => row.embeddingRow),
    );
    assert.deepEqual(
      rows.map((row) => row.status),
      input.map((row) => row.status),
    );
  });

  it('writes a valid file with the full schema and no rows when given no rows', async () => {
    const bytes = encodeMetadataParquet([]);
    const metadata = parquetMetadata(arrayBufferOf(bytes));
    assert.equal(Number(metadata.num_rows), 0);
    assert.ok(metadata.schema.some((element) => element.name === 'processed_at'));
    assert.deepEqual(await parquetReadObjects({ file: arrayBufferOf(bytes) }), []);
  });

  it('gives identical bytes for identical rows, so a retried shard rewrites the same object', () => {
    assert.deepEqual(encodeMetadataParquet(SAMPLE), encodeMetadataParquet(SAMPLE));
  });

  it('refuses an ok row without an embedding row', () => {
    assert.throws(
      () => encodeMetadataParquet([{ ...okRow('s3://b/x.png', 0), embeddingRow: null }]),
      /metadata row 0 \(s3:\/\/b\/x.png\) breaks the output contract/,
    );
  });

  it('refuses an error row without an error message', () => {
    assert.throws(
      () => encodeMetadataParquet([{ ...errorRow('s3://b/x.png'), error: null }]),
      /an error row has an error message and embeddingRow null/,
    );
  });
});
