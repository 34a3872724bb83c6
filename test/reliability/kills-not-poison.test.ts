import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { startOnnxWorker, stopWorkers, submit } from '../harness/cli.ts';
import { PHOTOS, stagePhotoCopies } from '../harness/fixtures.ts';
import { startRedis, type TestRedis } from '../harness/redis-server.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { reliabilityEnv } from './reliability-harness.ts';

/**
 * Issue 19: kills are not poison. The run's only shard loses its worker to SIGKILL ten times in a
 * row (test/reliability/crash-on-uri.ts, preloaded, kills the process when it opens zz-kill.png),
 * a supervisor restarting the worker each time; then the killing stops. With MAX_STALLED left at
 * its default the run finishes with the shard done and no `retry`.
 */

const KILLS = 10;
const crashHook = fileURLToPath(new URL('./crash-on-uri.ts', import.meta.url));

let redis: TestRedis;
let workers: ServerProcess[] = [];
let dir: string;

before(async () => {
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'kills-not-poison-'));
});

after(async () => {
  await stopWorkers(workers);
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('ten kill -9 of its workers in a row do not fail a shard: the run finishes without retry', async () => {
  const input = join(dir, 'input');
  await stagePhotoCopies(input, 4);
  await copyFile(
    fileURLToPath(new URL(`../fixtures/images/${PHOTOS[0]}`, import.meta.url)),
    join(input, 'zz-kill.png'),
  );
  const prefix = uniqueName('kills');
  const { MAX_STALLED: _default, ...env } = reliabilityEnv(redis.url, prefix);
  const { run } = await submit(input, join(dir, 'out'), { shardSize: 8 }, env);

  const killing = { ...env, RESNET_BATCH_TEST_CRASH_ON_URI_SUBSTRING: 'zz-kill' };
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const registry = new RunRegistry(connection, prefix);
  const deaths: Array<number | string> = [];
  try {
    workers = [await startOnnxWorker(killing, { preload: [crashHook] })];
    while ((await registry.get(run))?.state !== 'done') {
      const current = workers[0]!;
      if (current.child.exitCode !== null || current.child.signalCode !== null) {
        deaths.push(await current.exited);
        workers = [
          deaths.length < KILLS ? await startOnnxWorker(killing, { preload: [crashHook] }) : await startOnnxWorker(env),
        ];
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const record = (await registry.get(run))!;
    assert.deepEqual(deaths, Array(KILLS).fill('SIGKILL'));
    assert.deepEqual([record.shards.done, record.shards.failed], [1, 0]);
    assert.equal(record.images.ok, 5);
  } finally {
    connection.disconnect();
  }
});
