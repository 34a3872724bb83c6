import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FileMetaData, parquetMetadata, parquetReadObjects, type SchemaElement } from 'hyparquet';
import type { CarriedColumn, ErrorRow, MetadataRow } from '../../shared/output/columns.ts';
import { OUTPUT_FORMAT_VERSION, PART_METADATA_KEYS } from '../../shared/output/output-format.ts';
import { encodeErrorsParquet, encodeMetadataParquet } from '../../worker/write-parts.ts';

// hyparquet shares no code with the writer (arrow-rs via parquet-wasm): an independent reader.
const PROCESSED_AT = new Date('2025-03-04T05:06:07.891Z');
const CARRIED: CarriedColumn[] = [
  { name: 'caption', type: 'string' },
  { name: 'id', type: 'int64' },
  { name: 'score', type: 'float64' },
  { name: 'train', type: 'bool' },
];

function okRow(uri: string, n: number, fields: MetadataRow['fields'] = {}): MetadataRow {
  return {
    uri,
    etag: `etag-${n}`,
    sizeBytes: 1000 + n,
    width: 451,
    height: 300,
    topLabels: ['tabby', 'tiger cat', 'Egyptian cat', 'lynx', 'tiger'],
    topIndices: [281, 282, 285, 287, 292],
    topScores: [0.61, 0.2, 0.1, 0.05, 0.012],
    model: 'resnet50-imagenet',
    engine: 'onnx-cpu',
    processedAt: PROCESSED_AT,
    fields,
  };
}

function errorRow(uri: string, fields: ErrorRow['fields'] = {}): ErrorRow {
  return { uri, etag: '', sizeBytes: 0, error: 'EMPTY: object has zero bytes', processedAt: PROCESSED_AT, fields };
}

function arrayBufferOf(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

const read = (bytes: Buffer) => parquetReadObjects({ file: arrayBufferOf(bytes) });
const metadataOf = (bytes: Buffer): FileMetaData => parquetMetadata(arrayBufferOf(bytes));

/** The schema element of a top-level column and, for a list, its repeated group and element. */
function columnSchema(metadata: FileMetaData, name: string): SchemaElement[] {
  const start = metadata.schema.findIndex((element) => element.name === name);
  assert.ok(start > 0, `column ${name} is in the schema`);
  const span = metadata.schema[start]!.num_children ? 3 : 1;
  return metadata.schema.slice(start, start + span);
}

const topLevelNames = (metadata: FileMetaData) =>
  metadata.schema
    .slice(1)
    .filter((element) => element.name !== 'list' && element.name !== 'element')
    .map((element) => element.name);

const kv = (metadata: FileMetaData, key: string) =>
  metadata.key_value_metadata?.find((entry) => entry.key === key)?.value;

describe('the metadata part', () => {
  const SAMPLE = [okRow('s3://bucket/in/chelsea.png', 0), okRow('s3://bucket/in/coffee.png', 1)];

  it('holds the rows in the order given (the .npy row order), with the contract columns', async () => {
    const bytes = encodeMetadataParquet(SAMPLE);
    assert.deepEqual(
      (await read(bytes)).map((row) => row.uri),
      SAMPLE.map((row) => row.uri),
    );
    assert.deepEqual(topLevelNames(metadataOf(bytes)), [
      'uri',
      'etag',
      'size_bytes',
      'width',
      'height',
      'top_labels',
      'top_indices',
      'top_scores',
      'model',
      'engine',
      'processed_at',
    ]);
  });

  it('reads every column back with its value, sizes exact in int64 and scores in float32', async () => {
    const [row] = await read(encodeMetadataParquet([{ ...okRow('s3://b/big.tif', 7), sizeBytes: 2 ** 40 + 3 }]));
    assert.deepEqual(
      { ...row, top_scores: undefined },
      {
        uri: 's3://b/big.tif',
        etag: 'etag-7',
        size_bytes: 2n ** 40n + 3n,
        width: 451,
        height: 300,
        top_labels: ['tabby', 'tiger cat', 'Egyptian cat', 'lynx', 'tiger'],
        top_indices: [281, 282, 285, 287, 292],
        top_scores: undefined,
        model: 'resnet50-imagenet',
        engine: 'onnx-cpu',
        processed_at: PROCESSED_AT,
      },
    );
    assert.deepEqual(
      row!.top_scores,
      okRow('', 0).topScores.map((score) => Math.fround(score)),
    );
  });

  it('has no nullable column of its own: every row is an image that succeeded', () => {
    const metadata = metadataOf(encodeMetadataParquet(SAMPLE));
    for (const name of topLevelNames(metadata)) {
      assert.equal(columnSchema(metadata, name)[0]!.repetition_type, 'REQUIRED', name);
    }
  });

  it('types strings as UTF8, width and height as INT32, processed_at as a UTC millisecond TIMESTAMP', () => {
    const metadata = metadataOf(encodeMetadataParquet(SAMPLE));
    for (const name of ['uri', 'etag', 'model', 'engine']) {
      assert.deepEqual(columnSchema(metadata, name)[0]!.logical_type, { type: 'STRING' }, name);
    }
    for (const name of ['width', 'height']) assert.equal(columnSchema(metadata, name)[0]!.type, 'INT32', name);
    const [timestamp] = columnSchema(metadata, 'processed_at');
    assert.deepEqual(timestamp!.logical_type, { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' });
  });

  it('encodes the list columns as standard 3-level LISTs of required elements', () => {
    const metadata = metadataOf(encodeMetadataParquet(SAMPLE));
    const expected = { top_labels: 'BYTE_ARRAY', top_indices: 'INT32', top_scores: 'FLOAT' };
    for (const [name, elementType] of Object.entries(expected)) {
      const [outer, repeated, element] = columnSchema(metadata, name);
      assert.deepEqual([outer!.logical_type?.type, repeated!.repetition_type], ['LIST', 'REPEATED'], name);
      assert.deepEqual(
        [element!.name, element!.repetition_type, element!.type],
        ['element', 'REQUIRED', elementType],
        name,
      );
    }
  });

  it('compresses every column chunk with snappy and records the output format version', () => {
    const metadata = metadataOf(encodeMetadataParquet(SAMPLE));
    const codecs = metadata.row_groups.flatMap((group) => group.columns.map((column) => column.meta_data?.codec));
    assert.ok(codecs.length > 0 && codecs.every((codec) => codec === 'SNAPPY'), codecs.join(','));
    assert.equal(kv(metadata, PART_METADATA_KEYS.formatVersion), String(OUTPUT_FORMAT_VERSION));
  });

  it('is a valid file with the full schema and no rows when no image of the shard succeeded', async () => {
    const bytes = encodeMetadataParquet([], CARRIED);
    assert.equal(Number(metadataOf(bytes).num_rows), 0);
    assert.ok(topLevelNames(metadataOf(bytes)).includes('caption'));
    assert.deepEqual(await read(bytes), []);
  });

  it('gives identical bytes for identical rows, so a retried shard rewrites the same object', () => {
    assert.deepEqual(encodeMetadataParquet(SAMPLE), encodeMetadataParquet(SAMPLE));
  });
});

describe('the errors part (the commit marker)', () => {
  it('holds one row per failed input with uri, etag, size_bytes, error and processed_at', async () => {
    const bytes = encodeErrorsParquet([errorRow('s3://b/empty.jpg')], [], { shard: 3, ok: 7 });
    assert.deepEqual(await read(bytes), [
      {
        uri: 's3://b/empty.jpg',
        etag: '',
        size_bytes: 0n,
        error: 'EMPTY: object has zero bytes',
        processed_at: PROCESSED_AT,
      },
    ]);
  });

  it("says the shard's index and counts in its key-value metadata, so a shard can be counted from storage", () => {
    const metadata = metadataOf(
      encodeErrorsParquet([errorRow('s3://b/a'), errorRow('s3://b/b')], [], { shard: 3, ok: 7 }),
    );
    assert.deepEqual(
      [PART_METADATA_KEYS.shard, PART_METADATA_KEYS.ok, PART_METADATA_KEYS.error].map((key) => kv(metadata, key)),
      ['3', '7', '2'],
    );
  });

  it('is written with no rows for a shard where everything succeeded', async () => {
    const bytes = encodeErrorsParquet([], CARRIED, { shard: 0, ok: 5 });
    assert.deepEqual(await read(bytes), []);
    assert.equal(kv(metadataOf(bytes), PART_METADATA_KEYS.ok), '5');
  });

  it("refuses an error that does not read 'CODE: reason'", () => {
    assert.throws(
      () => encodeErrorsParquet([{ ...errorRow('s3://b/x.png'), error: 'broken' }], [], { shard: 0, ok: 0 }),
      /error must read 'CODE: reason'/,
    );
  });
});

describe('carried columns', () => {
  it('follow the own columns in both parts, typed by the run, nullable, with nulls where a line lacked the field', async () => {
    const fields = { caption: 'a cat on a mat', id: 42, score: 0.5, train: true };
    const metadataBytes = encodeMetadataParquet(
      [okRow('s3://b/a.png', 0, fields), okRow('s3://b/b.png', 1, {})],
      CARRIED,
    );
    const errorBytes = encodeErrorsParquet([errorRow('s3://b/c.png', { caption: 'broken', id: 7 })], CARRIED, {
      shard: 0,
      ok: 2,
    });
    for (const bytes of [metadataBytes, errorBytes]) {
      const metadata = metadataOf(bytes);
      assert.deepEqual(topLevelNames(metadata).slice(-4), ['caption', 'id', 'score', 'train']);
      assert.deepEqual(
        ['caption', 'id', 'score', 'train'].map((name) => columnSchema(metadata, name)[0]!.type),
        ['BYTE_ARRAY', 'INT64', 'DOUBLE', 'BOOLEAN'],
      );
      for (const name of ['caption', 'id', 'score', 'train']) {
        assert.equal(columnSchema(metadata, name)[0]!.repetition_type, 'OPTIONAL', name);
      }
    }
    const [first, second] = await read(metadataBytes);
    assert.deepEqual([first!.caption, first!.id, first!.score, first!.train], ['a cat on a mat', 42n, 0.5, true]);
    assert.deepEqual([second!.caption, second!.id, second!.score, second!.train], [null, null, null, null]);
    const [failed] = await read(errorBytes);
    assert.deepEqual([failed!.caption, failed!.id, failed!.train], ['broken', 7n, null]);
  });
});
