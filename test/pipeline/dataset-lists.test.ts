import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { startWorkers, stopWorkers, submit } from '../harness/cli.ts';
import { copyQueryTo } from '../harness/duckdb-copy.ts';
import { readFixture } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { readRunOutput } from '../harness/run-output.ts';
import { waitForRunDone } from '../harness/run-state.ts';
import { s3Env, s3StorageConfig, useS3 } from '../harness/s3-server.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { CAT_CLASSES } from './pipeline-inputs.ts';

/**
 * Lists at dataset scale end to end, with the real CLI, a real worker and the real model: a
 * Parquet list (written by DuckDB) of images in S3 with a caption column, and an S3 Inventory
 * report (CSV.gz data files and a manifest.json, laid out as AWS writes them) of the same bucket.
 */

const IMAGES = ['chelsea.png', 'coffee.png', 'rocket.jpg', 'horse.png', 'truncated.jpg'];

const redis = useRedis();
const s3 = useS3();
let store: ObjectStore;
let workers: ServerProcess[] = [];
let env: Record<string, string>;
let bucket: string;
const dir = useTempDir('dataset-lists-');

setUp(async () => {
  bucket = uniqueName('lists');
  await s3.createBucket(bucket);
  store = openStore(`s3://${bucket}/`, s3StorageConfig(s3));
  for (const name of IMAGES) await store.write(`s3://${bucket}/photos/${name}`, await readFixture(name));
  env = { REDIS_URL: redis.url, QUEUE_PREFIX: uniqueName('lists'), LOG_LEVEL: 'warn', METRICS_PORT: '0', ...s3Env(s3) };
  workers = await startWorkers(1, env);
});

teardown(async () => {
  await stopWorkers(workers);
  await store?.close();
});

test('a Parquet list in S3 runs end to end with its other columns carried, with their types', async () => {
  const local = join(dir.path, 'list.parquet');
  const values = IMAGES.map((name, i) => `('s3://${bucket}/photos/${name}', 'photo of ${name}', ${i})`).join(', ');
  await copyQueryTo(`SELECT * FROM (VALUES ${values}) t(uri, caption, position)`, local, 'FORMAT parquet');
  await store.write(`s3://${bucket}/lists/photos.parquet`, await readFile(local));
  const output = `s3://${bucket}/out-parquet/`;
  const { run } = await submit(`s3://${bucket}/lists/photos.parquet`, output, { shardSize: 2 }, env);
  const record = await waitForRunDone(redis.url, env.QUEUE_PREFIX!, run);
  assert.deepEqual([record.images.total, record.images.ok, record.images.error], [5, 4, 1]);
  const rows = (await readRunOutput(store, output, run)).parts.flatMap((part) => part.rows);
  assert.deepEqual(rows.map((row) => row.uri).sort(), IMAGES.map((name) => `s3://${bucket}/photos/${name}`).sort());
  const cat = rows.find((row) => row.uri.endsWith('chelsea.png'))!;
  assert.equal(cat.caption, 'photo of chelsea.png');
  assert.equal(cat.position, 0n);
  assert.ok(CAT_CLASSES.includes(cat.top_labels![0]!));
  assert.match(rows.find((row) => row.uri.endsWith('truncated.jpg'))?.error ?? '', /^DECODE_FAILED: /);
});

test('an S3 Inventory report runs end to end in place of listing the bucket', async () => {
  const listed: string[] = [];
  for await (const page of store.list(`s3://${bucket}/photos/`)) {
    for (const info of page)
      listed.push(`"${bucket}","${info.uri.split('/').slice(3).join('/')}","${info.size}","${info.etag}"`);
  }
  const data = `inventory/${bucket}/daily/data/part-0.csv.gz`;
  await store.write(`s3://${bucket}/${data}`, gzipSync(`${listed.join('\n')}\n`));
  const manifest = `s3://${bucket}/inventory/${bucket}/daily/2026-12-01T01-00Z/manifest.json`;
  await store.write(
    manifest,
    JSON.stringify({
      sourceBucket: bucket,
      destinationBucket: `arn:aws:s3:::${bucket}`,
      version: '2016-11-30',
      fileFormat: 'CSV',
      fileSchema: 'Bucket, Key, Size, ETag',
      files: [{ key: data, size: 0, MD5checksum: '' }],
    }),
  );
  const output = `s3://${bucket}/out-inventory/`;
  const { run } = await submit(manifest, output, { shardSize: 2 }, env);
  const record = await waitForRunDone(redis.url, env.QUEUE_PREFIX!, run);
  assert.deepEqual([record.images.total, record.images.ok, record.images.error], [5, 4, 1]);
  assert.deepEqual(record.inputRoots, [`s3://${bucket}/photos/`]);
  const rows = (await readRunOutput(store, output, run)).parts.flatMap((part) => part.rows);
  assert.deepEqual(rows.map((row) => row.uri).sort(), IMAGES.map((name) => `s3://${bucket}/photos/${name}`).sort());
});
