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
import { reliabilityEnv, watchOutputInvariant } from './reliability-harness.ts';

/**
 * A worker SIGKILLed in the middle of a shard: the shard's lock (SHARD_LOCK_MS 3 s) expires,
 * another worker's stalled check puts it back, and that worker finishes the run. 120 photos in
 * shards of 40, so shard 0 takes a few seconds and the kill lands inside it. A watcher reads the
 * output folder every 100 ms during the whole run.
 */

const IMAGES = 120;
const SHARD_SIZE = 40;
const redis = useRedis();
const dir = useTempDir('reliability-kill-');
let names: string[];
let run: string;
let workers: ServerProcess[] = [];
let killedExit: number | string;
let doneAtKill: boolean;
let stalledCounter: number;
let recoveryMs: number;
let invariant: { violations: string[]; polls: number; partsSeen: number };
let output: RunOutput;
let survivorExit: Array<number | string>;

setUp(async () => {
  names = await stagePhotoCopies(join(dir.path, 'input'), IMAGES);
  const prefix = uniqueName('kill');
  const env = reliabilityEnv(redis.url, prefix);
  const out = join(dir.path, 'out');
  ({ run } = await submit(join(dir.path, 'input'), out, { shardSize: SHARD_SIZE }, env));
  const watcher = watchOutputInvariant(join(out, run));

  const victim = await startOnnxWorker(env);
  workers.push(victim);
  await waitForActiveShard(redis.url, prefix, shardJobId(run, 0));
  await victim.stop('SIGKILL');
  const killedAt = Date.now();
  killedExit = await victim.exited;
  workers = [];
  const { queue, close } = shardQueue(redis.url, prefix);
  try {
    doneAtKill = (await queue.getJob(shardJobId(run, 0)))?.finishedOn !== undefined;
    workers.push(await startOnnxWorker(env));
    await waitForRunDone(redis.url, prefix, run, 150_000);
    recoveryMs = Date.now() - killedAt;
    stalledCounter = (await queue.getJob(shardJobId(run, 0)))?.stalledCounter ?? -1;
  } finally {
    await close();
  }
  invariant = await watcher.stop();
  output = await readRunOutput(openStore(out), out, run);
  survivorExit = await stopWorkers(workers);
  workers = [];
  process.stderr.write(
    `kill mid-shard: recovered and finished in ${recoveryMs} ms; watcher polls ${invariant.polls}\n`,
  );
});

teardown(async () => {
  if (workers.length > 0) await stopWorkers(workers);
});

describe('a worker SIGKILLed in the middle of a shard', () => {
  test('was killed by the signal while shard 0 was unfinished', () => {
    assert.equal(killedExit, 'SIGKILL');
    assert.equal(doneAtKill, false);
  });

  test('its shard came back through the stalled check and was finished by another worker', () => {
    assert.ok(stalledCounter >= 1, `stalledCounter ${stalledCounter}`);
    assert.deepEqual(output.manifest.shards, { total: 3, done: 3, failed: 0 });
  });

  test('every input has exactly one metadata row, all ok', () => {
    assertOneRowPerInput(output, names);
    assert.deepEqual(output.manifest.images, { total: IMAGES, ok: IMAGES, error: 0, skipped: 0 });
  });

  test('each part pairs its ok rows with its .npy rows', () => {
    assertNpyMatchesOkRows(output);
  });

  test('no metadata part was ever visible without its full .npy during the run', () => {
    assert.deepEqual(invariant.violations, []);
    assert.equal(invariant.partsSeen, 3);
    assert.ok(invariant.polls > 10, `polls ${invariant.polls}`);
  });

  test('the surviving worker exits 0 on SIGTERM', () => {
    assert.deepEqual(survivorExit, [0]);
  });
});
