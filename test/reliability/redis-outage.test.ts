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
import { waitForActiveShard, waitForRunDone } from '../harness/run-state.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { logLines, reliabilityEnv } from './reliability-harness.ts';

/**
 * Redis stays down for 18 s, far past the retry budget of the run's jobs (JOB_ATTEMPTS 2, backoff
 * 200 ms) and six times the shard lock, while a worker is inside a shard. The worker must keep
 * running, say in its log that Redis is unreachable with a growing delay, and finish the run once
 * Redis is back, with nothing lost and nothing counted twice.
 */

const IMAGES = 80;
const SHARD_SIZE = 20;
const OUTAGE_MS = 18_000;
const redis = useRedis({ appendonly: true });
const dir = useTempDir('reliability-redis-outage-');
let names: string[];
let run: string;
let worker: ServerProcess | undefined;
let aliveAfterOutage: boolean;
let reconnectDelays: number[];
let recoveryMs: number;
let output: RunOutput;
let exit: Array<number | string>;

setUp(async () => {
  names = await stagePhotoCopies(join(dir.path, 'input'), IMAGES);
  const prefix = uniqueName('outage');
  const env = reliabilityEnv(redis.url, prefix, { JOB_ATTEMPTS: '2' });
  const out = join(dir.path, 'out');
  ({ run } = await submit(join(dir.path, 'input'), out, { shardSize: SHARD_SIZE }, env));

  worker = await startOnnxWorker(env);
  await waitForActiveShard(redis.url, prefix, shardJobId(run, 0));
  await redis.kill('SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
  aliveAfterOutage = worker.child.exitCode === null && worker.child.signalCode === null;
  reconnectDelays = logLines(worker.output())
    .filter((line) => line.msg === 'redis unreachable; reconnecting')
    .map((line) => Number(line.delayMs));
  const restarted = Date.now();
  await redis.restart();
  await waitForRunDone(redis.url, prefix, run, 120_000);
  recoveryMs = Date.now() - restarted;
  output = await readRunOutput(openStore(out), out, run);
  exit = await stopWorkers([worker]);
  worker = undefined;
  process.stderr.write(
    `redis outage ${OUTAGE_MS} ms: ${reconnectDelays.length} reconnect warnings, max delay ${Math.max(...reconnectDelays)} ms; run done ${recoveryMs} ms after restart\n`,
  );
});

teardown(async () => {
  if (worker) await stopWorkers([worker]);
});

describe('Redis down for longer than the retry budget while a worker is inside a shard', () => {
  test('the worker is still running at the end of the outage', () => {
    assert.equal(aliveAfterOutage, true);
  });

  test('the worker logs "redis unreachable; reconnecting" with a growing, capped delay', () => {
    assert.ok(reconnectDelays.length >= 3, `warnings: ${reconnectDelays.length}`);
    const [first, last] = [reconnectDelays[0]!, reconnectDelays.at(-1)!];
    assert.ok(last > first, `delays ${reconnectDelays.join(', ')}`);
    assert.ok(
      reconnectDelays.every((delay) => delay <= 10_000),
      `delays ${reconnectDelays.join(', ')}`,
    );
  });

  test('the run completes once Redis is back, no shard failed', () => {
    assert.deepEqual(output.manifest.shards, { total: IMAGES / SHARD_SIZE, done: IMAGES / SHARD_SIZE, failed: 0 });
    assert.deepEqual(output.manifest.images, { total: IMAGES, ok: IMAGES, error: 0, skipped: 0 });
  });

  test('every input has exactly one metadata row and the .npy rows match', () => {
    assertOneRowPerInput(output, names);
    assertNpyMatchesOkRows(output);
  });

  test('the worker exits 0 on SIGTERM afterwards', () => {
    assert.deepEqual(exit, [0]);
  });
});
