import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../../shared/errors.ts';
import {
  ERROR_COLUMNS,
  type ErrorRow,
  METADATA_COLUMNS,
  type MetadataRow,
  RESERVED_COLUMN_NAMES,
} from '../../shared/output/columns.ts';
import {
  embeddingsKey,
  errorsKey,
  manifestKey,
  metadataKey,
  partName,
  shardOfPartName,
} from '../../shared/output/output-format.ts';

describe('output keys', () => {
  it('puts the embeddings of a shard under <output>/<run>/embeddings/ with a 5-digit part number', () => {
    assert.equal(embeddingsKey('s3://bucket/out', 'run-1', 42), 's3://bucket/out/run-1/embeddings/part-00042.npy');
  });

  it('puts the metadata of a shard under <output>/<run>/metadata/ with the same part number', () => {
    assert.equal(metadataKey('s3://bucket/out', 'run-1', 42), 's3://bucket/out/run-1/metadata/part-00042.parquet');
  });

  it('puts the run manifest at <output>/<run>/_manifest.json', () => {
    assert.equal(manifestKey('s3://bucket/out', 'run-1'), 's3://bucket/out/run-1/_manifest.json');
  });

  it('accepts an output prefix with a trailing slash', () => {
    assert.equal(metadataKey('s3://bucket/out/', 'r', 0), 's3://bucket/out/r/metadata/part-00000.parquet');
  });

  it('turns a plain output path into an absolute file URI', () => {
    const expected = pathToFileURL(resolve('demo-output', 'r', 'embeddings', 'part-00003.npy')).href;
    assert.equal(embeddingsKey('./demo-output', 'r', 3), expected);
  });

  it('gives shard indexes past 99999 a longer name instead of truncating them', () => {
    assert.equal(partName(123456), 'part-123456');
  });

  it('sorts 5-digit part names in shard order', () => {
    const names = [10, 2, 100, 0, 99999].map(partName);
    assert.deepEqual([...names].sort(), [0, 2, 10, 100, 99999].map(partName));
  });

  it('refuses a negative or fractional shard index', () => {
    assert.throws(() => partName(-1), RangeError);
    assert.throws(() => partName(1.5), RangeError);
  });

  it('refuses a run id that would leave the output prefix', () => {
    assert.throws(() => manifestKey('s3://bucket/out', '../other'), ConfigError);
  });
});

describe('the columns of the parts', () => {
  it('metadata parts hold the images that succeeded: no status, no error, no row index', () => {
    const names = METADATA_COLUMNS.map((column) => column.name);
    for (const gone of ['status', 'error', 'embedding_row']) assert.ok(!names.includes(gone), gone);
    assert.deepEqual(
      METADATA_COLUMNS.filter((column) => column.nullable),
      [],
    );
  });

  it('errors parts hold uri, etag, size_bytes, error (CODE: reason) and processed_at', () => {
    assert.deepEqual(
      ERROR_COLUMNS.map((column) => column.name),
      ['uri', 'etag', 'size_bytes', 'error', 'processed_at'],
    );
  });

  it('fill each field of a row exactly once (carried fields apart)', () => {
    const metadataFields: Record<Exclude<keyof MetadataRow, 'fields'>, true> = {
      uri: true,
      etag: true,
      sizeBytes: true,
      width: true,
      height: true,
      topLabels: true,
      topIndices: true,
      topScores: true,
      model: true,
      engine: true,
      processedAt: true,
    };
    assert.deepEqual(METADATA_COLUMNS.map((column) => column.field).sort(), Object.keys(metadataFields).sort());
    const errorFields: Record<Exclude<keyof ErrorRow, 'fields'>, true> = {
      uri: true,
      etag: true,
      sizeBytes: true,
      error: true,
      processedAt: true,
    };
    assert.deepEqual(ERROR_COLUMNS.map((column) => column.field).sort(), Object.keys(errorFields).sort());
  });

  it('reserve the names of every own column, and the format-1 columns, against carried fields', () => {
    for (const name of ['uri', 'etag', 'error', 'top_labels', 'status', 'embedding_row'])
      assert.ok(RESERVED_COLUMN_NAMES.has(name), name);
    assert.ok(!RESERVED_COLUMN_NAMES.has('caption'));
  });
});

describe('part names', () => {
  it('parse back to their shard index, by kind', () => {
    assert.equal(shardOfPartName('part-00042.parquet', 'errors'), 42);
    assert.equal(shardOfPartName('part-00042.npy', 'embeddings'), 42);
    assert.equal(shardOfPartName('part-00042.npy', 'metadata'), null);
    assert.equal(shardOfPartName('.part-00042.parquet.tmp-1-abc', 'metadata'), null);
  });

  it('put the errors part, the commit marker, under <output>/<run>/errors/', () => {
    assert.equal(errorsKey('s3://bucket/out', 'run-1', 42), 's3://bucket/out/run-1/errors/part-00042.parquet');
  });
});
