import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../../shared/errors.ts';
import {
  embeddingsKey,
  METADATA_COLUMNS,
  type MetadataRow,
  manifestKey,
  metadataKey,
  partName,
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

describe('metadata columns', () => {
  it('are the snake_case columns of the output contract, in file order', () => {
    assert.deepEqual(
      METADATA_COLUMNS.map((column) => column.name),
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

  it('fill each field of MetadataRow exactly once', () => {
    const fields: Record<keyof MetadataRow, true> = {
      uri: true,
      etag: true,
      sizeBytes: true,
      width: true,
      height: true,
      status: true,
      error: true,
      embeddingRow: true,
      topLabels: true,
      topIndices: true,
      topScores: true,
      model: true,
      engine: true,
      processedAt: true,
    };
    assert.deepEqual(METADATA_COLUMNS.map((column) => column.field).sort(), Object.keys(fields).sort());
  });

  it('allow nulls only in the columns an error row leaves empty', () => {
    const nullable = METADATA_COLUMNS.filter((column) => column.nullable).map((column) => column.name);
    assert.deepEqual(nullable, [
      'width',
      'height',
      'error',
      'embedding_row',
      'top_labels',
      'top_indices',
      'top_scores',
    ]);
  });
});
