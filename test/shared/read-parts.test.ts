// The one reader of output parts reads both layouts: format 2 (metadata/ + errors/) and the
// format-1 parts of runs written before it (every input in metadata/, with `status`), so `report`
// and `--since` keep working on old runs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  Field,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { Table as WasmTable, writeParquet } from 'parquet-wasm';
import { errorsKey, metadataKey } from '../../shared/output/output-format.ts';
import { readShardRows } from '../../shared/output/read-parts.ts';
import { LocalStore } from '../../shared/storage/local/local-store.ts';
import { encodeErrorsParquet, encodeMetadataParquet } from '../../worker/write-parts.ts';
import { setUp } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';

const dir = useTempDir('read-parts-');
let output: string;
const store = new LocalStore();

setUp(async () => {
  output = pathToFileURL(dir.path).href;
});

/** A format-1 metadata part: one row per input, `status`, nullable `embedding_row`. */
function formatOnePart(
  rows: Array<{ uri: string; etag: string; status: 'ok' | 'error'; error: string | null; row: number | null }>,
): Uint8Array {
  const fields = [
    new Field('uri', new Utf8(), false),
    new Field('etag', new Utf8(), false),
    new Field('status', new Utf8(), false),
    new Field('error', new Utf8(), true),
    new Field('embedding_row', new Int32(), true),
  ];
  const columns = [
    rows.map((r) => r.uri),
    rows.map((r) => r.etag),
    rows.map((r) => r.status),
    rows.map((r) => r.error),
    rows.map((r) => r.row),
  ];
  const children = columns.map((values, i) => vectorFromArray(values, fields[i]!.type).data[0]!);
  const schema = new Schema(fields);
  const table = new Table(
    schema,
    new RecordBatch(schema, makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children })),
  );
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')));
}

describe('readShardRows', () => {
  test('splits a format-1 part by status into the images that succeeded and the inputs that failed', async () => {
    await store.write(
      metadataKey(output, 'old-run', 0),
      formatOnePart([
        { uri: 's3://b/a.jpg', etag: 'e1', status: 'ok', error: null, row: 0 },
        { uri: 's3://b/bad.jpg', etag: 'e2', status: 'error', error: 'EMPTY: zero bytes', row: null },
        { uri: 's3://b/c.jpg', etag: 'e3', status: 'ok', error: null, row: 1 },
      ]),
    );
    const shards = [];
    for await (const shard of readShardRows(store, output, 'old-run', { ok: ['uri', 'etag'], error: ['uri', 'error'] }))
      shards.push(shard);
    assert.equal(shards.length, 1);
    assert.deepEqual(
      shards[0]!.ok.map((row) => [row.uri, row.etag]),
      [
        ['s3://b/a.jpg', 'e1'],
        ['s3://b/c.jpg', 'e3'],
      ],
    );
    assert.deepEqual(
      shards[0]!.errors.map((row) => [row.uri, row.error]),
      [['s3://b/bad.jpg', 'EMPTY: zero bytes']],
    );
  });

  test('reads a format-2 shard from its metadata part and its errors part', async () => {
    const processedAt = new Date();
    const ok = {
      uri: 's3://b/a.jpg',
      etag: 'e1',
      sizeBytes: 1,
      width: 1,
      height: 1,
      topLabels: ['x'],
      topIndices: [1],
      topScores: [0.5],
      model: 'm',
      engine: 'e',
      processedAt,
      fields: {},
    };
    await store.write(metadataKey(output, 'new-run', 3), encodeMetadataParquet([ok]));
    await store.write(
      errorsKey(output, 'new-run', 3),
      encodeErrorsParquet(
        [{ uri: 's3://b/bad.jpg', etag: '', sizeBytes: 0, error: 'EMPTY: zero bytes', processedAt, fields: {} }],
        [],
        { shard: 3, ok: 1 },
      ),
    );
    const shards = [];
    for await (const shard of readShardRows(store, output, 'new-run', { ok: ['uri'], error: ['uri', 'error'] }))
      shards.push(shard);
    assert.deepEqual(shards, [
      { shard: 3, ok: [{ uri: 's3://b/a.jpg' }], errors: [{ uri: 's3://b/bad.jpg', error: 'EMPTY: zero bytes' }] },
    ]);
  });
});
