import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { shardJobId } from '../../shared/queue/job-payload.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { startOnnxWorker, stopWorkers, submit } from '../harness/cli.ts';
import { stagePhotoCopies } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { assertNpyMatchesOkRows, assertOneRowPerInput, type RunOutput, readRunOutput } from '../harness/run-output.ts';
import { shardQueue, waitForActiveShard, waitForRunDone } from '../harness/run-state.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { reliabilityEnv } from './reliability-harness.ts';

/**
 * SIGTERM in the middle of a shard: the worker stops taking shards, finishes the one it is in,
 * and exits 0; a second worker finishes the rest of the run. 120 photos in shards of 40.
 */

const IMAGES = 120;
const SHARD_SIZE = 40;
const redis = useRedis();
const dir = useTempDir('reliability-sigterm-');
let names: string[];
let run: string;
let workers: ServerProcess[] = [];
let stoppedExit: number | string;
let stopMs: number;
let shard0AfterStop: { state: string; stalledCounter: number; attemptsMade: number };
let shardsDoneAfterStop: number;
let output: RunOutput;
let secondExit: Array<number | string>;

setUp(async () => {
  names = await stagePhotoCopies(join(dir.path, 'input'), IMAGES);
  const prefix = uniqueName('sigterm');
  const env = reliabilityEnv(redis.url, prefix);
  const out = join(dir.path, 'out');
  ({ run } = await submit(join(dir.path, 'input'), out, { shardSize: SHARD_SIZE }, env));

  const first = await startOnnxWorker(env);
  workers.push(first);
  await waitForActiveShard(redis.url, prefix, shardJobId(run, 0));
  const signalled = Date.now();
  await first.stop('SIGTERM', 60_000);
  stopMs = Date.now() - signalled;
  stoppedExit = await first.exited;
  workers = [];
  const { queue, close } = shardQueue(redis.url, prefix);
  try {
    const job = await queue.getJob(shardJobId(run, 0));
    shard0AfterStop = {
      state: (await job?.getState()) ?? 'missing',
      stalledCounter: job?.stalledCounter ?? -1,
      attemptsMade: job?.attemptsMade ?? -1,
    };
    shardsDoneAfterStop = (await queue.getJobCounts('completed')).completed ?? 0;
    workers.push(await startOnnxWorker(env));
    await waitForRunDone(redis.url, prefix, run, 150_000);
  } finally {
    await close();
  }
  output = await readRunOutput(openStore(out), out, run);
  secondExit = await stopWorkers(workers);
  workers = [];
  process.stderr.write(
    `sigterm mid-shard: worker exited after ${stopMs} ms with ${shardsDoneAfterStop} shard(s) completed\n`,
  );
});

teardown(async () => {
  if (workers.length > 0) await stopWorkers(workers);
});

describe('a worker sent SIGTERM in the middle of a shard', () => {
  test('exits 0', () => {
    assert.equal(stoppedExit, 0);
  });

  test('finished the shard it was in before exiting, without a stall or a retry', () => {
    assert.deepEqual(shard0AfterStop, { state: 'completed', stalledCounter: 0, attemptsMade: 1 });
  });

  test('left the shards it had not started to another worker, which completed the run', () => {
    assert.ok(shardsDoneAfterStop < 3, `completed before the second worker: ${shardsDoneAfterStop}`);
    assert.deepEqual(output.manifest.shards, { total: 3, done: 3, failed: 0 });
  });

  test('every input has exactly one metadata row and the .npy rows match', () => {
    assertOneRowPerInput(output, names);
    assertNpyMatchesOkRows(output);
    assert.deepEqual(output.manifest.images, { total: IMAGES, ok: IMAGES, error: 0, skipped: 0 });
  });

  test('the second worker exits 0 on SIGTERM too', () => {
    assert.deepEqual(secondExit, [0]);
  });
});
