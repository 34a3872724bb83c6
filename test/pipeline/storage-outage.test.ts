import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { shardJobId } from '../../shared/queue/job-payload.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { cliEnv, startWorkers, stopWorkers, submit } from '../harness/cli.ts';
import { useRedis } from '../harness/redis-server.ts';
import { completeRunKeys, type RunOutput, readRunOutput } from '../harness/run-output.ts';
import { shardQueue, waitForRunDone } from '../harness/run-state.ts';
import { newBucket, s3Env, s3StorageConfig, useS3 } from '../harness/s3-server.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { EXPECTED_ERRORS, stageInputs, uploadInputs } from './pipeline-inputs.ts';

/**
 * A storage outage while a run is being processed: the run is submitted, S3 goes down, a worker
 * starts and fails its shard attempts, S3 comes back, and the retried shards finish the run. The
 * output must be what an undisturbed run writes: the same keys, one row per input, each image
 * counted once.
 */

const SHARD_SIZE = 4;
const redis = useRedis();
const s3 = useS3();
const dir = useTempDir('pipeline-outage-');
let store: ObjectStore;
let worker: ServerProcess[] = [];
let names: string[];
let run: string;
let attemptsWhileDown: number;
let output: RunOutput;
let workerExit: Array<number | string>;

setUp(async () => {
  const bucket = await newBucket(s3);
  store = openStore(`s3://${bucket}/`, s3StorageConfig(s3));
  names = await stageInputs(join(dir.path, 'input'));
  await uploadInputs(store, `s3://${bucket}/input/`, join(dir.path, 'input'), names);

  const prefix = uniqueName('outage');
  // Attempts and backoff are job options, fixed at submit: many quick retries, so the run does
  // not fail for good while S3 is down, and resumes within a second of its return.
  const env = cliEnv(redis.url, prefix, { JOB_ATTEMPTS: '30', JOB_BACKOFF_MS: '200', ...s3Env(s3) });
  ({ run } = await submit(`s3://${bucket}/input/`, `s3://${bucket}/results`, { shardSize: SHARD_SIZE }, env));

  await s3.kill();
  worker = await startWorkers(1, env);
  const { queue, close } = shardQueue(redis.url, prefix);
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      attemptsWhileDown = (await queue.getJob(shardJobId(run, 0)))?.attemptsMade ?? 0;
      if (attemptsWhileDown >= 1 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await close();
  }
  await s3.restart();
  await waitForRunDone(redis.url, prefix, run);
  output = await readRunOutput(store, `s3://${bucket}/results`, run);
  workerExit = await stopWorkers(worker);
  worker = [];
});

teardown(async () => {
  if (worker.length > 0) await stopWorkers(worker);
  await store?.close();
});

describe('a run whose storage went down while a worker processed it', () => {
  test('the first shard failed at least one attempt while S3 was down', () => {
    assert.ok(attemptsWhileDown >= 1, `attempts made while S3 was down: ${attemptsWhileDown}`);
  });

  test('the retried shards wrote exactly the keys of an undisturbed run', () => {
    assert.deepEqual(output.keys, completeRunKeys(Math.ceil(names.length / SHARD_SIZE)));
  });

  test('every input has exactly one row, and only the bad inputs are errors', () => {
    const rows = output.parts.flatMap((part) => part.rows);
    assert.deepEqual(rows.map((row) => row.uri.slice(row.uri.lastIndexOf('/') + 1)).sort(), names);
    const errors = rows
      .filter((row) => row.status === 'error')
      .map((row) => row.uri.slice(row.uri.lastIndexOf('/') + 1));
    assert.deepEqual(errors.sort(), Object.keys(EXPECTED_ERRORS).sort());
  });

  test('each image is counted once in the manifest', () => {
    const errors = Object.keys(EXPECTED_ERRORS).length;
    assert.deepEqual(output.manifest.images, {
      total: names.length,
      ok: names.length - errors,
      error: errors,
      skipped: 0,
    });
    assert.deepEqual(output.manifest.shards, { total: output.parts.length, done: output.parts.length, failed: 0 });
  });

  test('each part still pairs its metadata rows with its .npy rows', () => {
    for (const part of output.parts) assert.deepEqual(part.npyShape, [part.metadata.length, 2048]);
  });

  test('the worker exits 0 on SIGTERM after the outage', () => {
    assert.deepEqual(workerExit, [0]);
  });
});
