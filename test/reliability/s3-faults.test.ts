import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { cliEnv, startOnnxWorker, submit } from '../harness/cli.ts';
import { readFixture } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { completeRunKeys, type RunOutput, readRunOutput } from '../harness/run-output.ts';
import { waitForRunDone } from '../harness/run-state.ts';
import { newBucket, s3Env, s3StorageConfig, useS3 } from '../harness/s3-server.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { type Fault, type FaultProxy, startFaultProxy } from './fault-proxy.ts';

/**
 * A worker whose every S3 request goes through a fault-injecting proxy: 500s, 503s, connections
 * reset halfway through an answer, and answers held past the client's 1 s request timeout. The
 * SDK's own retries absorb most of them; the first image's GET fails every SDK attempt and then
 * once mid-body, so its shard also needs BullMQ's retries. One object is deleted between listing
 * and processing. The run must complete with exactly one row per input.
 */

const GOOD = [
  'astronaut.png',
  'chelsea.png',
  'chessboard_GRAY_U16.tif',
  'coffee.png',
  'green_palette.png',
  'horse.png',
  'no_time_for_that_tiny.gif',
  'palette_color.png',
  'rocket.jpg',
];
const GONE = 'gone.jpg';
const SHARD_SIZE = 3;
const REQUEST_TIMEOUT_MS = 1000;

/** The first image's GETs: three failed SDK attempts (one attempt of the shard), then a reset mid-body (another). */
const FIRST_IMAGE_FAULTS: Fault[] = [
  { kind: 'status', status: 500 },
  { kind: 'status', status: 503 },
  { kind: 'delay', ms: REQUEST_TIMEOUT_MS + 1500 },
  { kind: 'reset' },
];

const redis = useRedis();
const s3 = useS3();
let proxy: FaultProxy;
let store: ObjectStore;
let worker: ServerProcess | undefined;
let run: string;
let output: RunOutput;
let workerExit: number | string;
let seconds: number;

setUp(async () => {
  proxy = await startFaultProxy(s3.endpoint);
  const bucket = await newBucket(s3);
  store = openStore(`s3://${bucket}/`, s3StorageConfig(s3));
  for (const name of GOOD) await store.write(`s3://${bucket}/input/${name}`, await readFixture(name));
  await store.write(`s3://${bucket}/input/${GONE}`, await readFixture('rocket.jpg'));

  const prefix = uniqueName('faults');
  // Attempts and backoff are fixed at submit: enough quick shard retries for the injected faults.
  const env = cliEnv(redis.url, prefix, { LOG_LEVEL: 'info', JOB_ATTEMPTS: '10', JOB_BACKOFF_MS: '200', ...s3Env(s3) });
  ({ run } = await submit(`s3://${bucket}/input/`, `s3://${bucket}/results`, { shardSize: SHARD_SIZE }, env));
  await deleteObject(bucket, `input/${GONE}`);

  let firstImageGets = 0;
  proxy.setPlan((n, request) => {
    if (request.method === 'GET' && request.path.endsWith(`/input/${GOOD[0]}`))
      return FIRST_IMAGE_FAULTS[firstImageGets++] ?? { kind: 'pass' };
    if (n > 80) return { kind: 'pass' };
    if (n % 5 === 0) return { kind: 'status', status: 503 };
    if (n % 7 === 0) return { kind: 'status', status: 500 };
    if (n % 11 === 0) return { kind: 'reset' };
    if (n % 13 === 0) return { kind: 'delay', ms: REQUEST_TIMEOUT_MS + 1500 };
    return { kind: 'pass' };
  });
  const started = Date.now();
  worker = await startOnnxWorker({ ...env, S3_ENDPOINT: proxy.url, S3_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) });
  await waitForRunDone(redis.url, prefix, run, 120_000);
  seconds = (Date.now() - started) / 1000;
  output = await readRunOutput(store, `s3://${bucket}/results`, run);
  await worker.stop('SIGTERM', 60_000);
  workerExit = await worker.exited;
  worker = undefined;
});

teardown(async () => {
  await worker?.stop('SIGKILL');
  await store?.close();
  await proxy?.close();
});

describe('a run whose worker reaches S3 through a faulty proxy', () => {
  test('the proxy answered 500 and 503, reset connections and held answers past the request timeout', () => {
    // The first image's four planned faults happen whatever the timing: its shard cannot complete
    // without fetching it four times. The other faults depend on request order, so only the kinds
    // are checked, never how often they struck or how many shard attempts they cost.
    const counts = proxy.counts();
    console.log(`fault proxy counts: ${JSON.stringify(counts)}; run took ${seconds.toFixed(1)} s`);
    for (const kind of ['status-500', 'status-503', 'reset', 'delay'])
      assert.ok((counts[kind] ?? 0) >= 1, `${kind}: ${counts[kind]}`);
  });

  test('the shards retried after the faults wrote exactly the keys of an undisturbed run', () => {
    assert.deepEqual(output.keys, completeRunKeys(Math.ceil((GOOD.length + 1) / SHARD_SIZE)));
  });

  test('the run completes with every shard done and none failed', () => {
    const shards = Math.ceil((GOOD.length + 1) / SHARD_SIZE);
    assert.deepEqual(output.manifest.shards, { total: shards, done: shards, failed: 0 });
    assert.deepEqual(output.manifest.images, { total: GOOD.length + 1, ok: GOOD.length, error: 1, skipped: 0 });
  });

  test('every input has exactly one metadata row', () => {
    const names = output.parts.flatMap((part) => part.rows).map((row) => row.uri.slice(row.uri.lastIndexOf('/') + 1));
    assert.deepEqual(names.sort(), [...GOOD, GONE].sort());
  });

  test('the object deleted after listing is a NOT_FOUND error row and its neighbours succeed', () => {
    const rows = output.parts.flatMap((part) => part.rows);
    const gone = rows.find((row) => row.uri.endsWith(`/${GONE}`));
    assert.equal(gone?.status, 'error');
    assert.match(gone?.error ?? '', /^NOT_FOUND\b.*not found/is);
    assert.deepEqual(rows.filter((row) => row.status === 'ok').length, GOOD.length);
  });

  test('each part pairs its metadata rows with its .npy rows', () => {
    for (const part of output.parts) assert.deepEqual(part.npyShape, [part.metadata.length, 2048]);
  });

  test('the worker exits 0 on SIGTERM', () => {
    assert.equal(workerExit, 0);
  });
});

/** ObjectStore has no delete (the pipeline never deletes), so the test uses the SDK directly. */
async function deleteObject(bucket: string, key: string): Promise<void> {
  const config = s3StorageConfig(s3).s3;
  const client = new S3Client({ ...config, endpoint: s3.endpoint, credentials: config.credentials! });
  try {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } finally {
    client.destroy();
  }
}
