import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  FINALIZE_JOB_NAME,
  finalizeJobId,
  JOB_PAYLOAD_VERSION,
  SHARD_JOB_NAME,
  shardJobId,
} from '../../shared/queue/job-payload.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { cliEnv, startWorkers, stopWorkers, submit } from '../harness/cli.ts';
import { copyFixtures } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { shardQueue, waitForRunDone } from '../harness/run-state.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * Issue 19: jobs written straight into Redis that submit and the finaliser did not make are
 * inert. A shard index the listing never made (its images inside the run's roots, so it passes
 * every other check) is refused without writing a part; a finaliser under the run's real id
 * with other options (delayed for an hour) does not hold the id against the real one.
 */

const IMAGES = ['chelsea.png', 'rocket.jpg', 'horse.png'];

const redis = useRedis();
let workers: ServerProcess[] = [];
const dir = useTempDir('inert-jobs-');

setUp(async () => {
  await copyFixtures(join(dir.path, 'input'), IMAGES);
});

teardown(() => stopWorkers(workers));

test('a shard index the listing never made is not processed, and a delayed forged finaliser does not block the real one', async () => {
  const prefix = uniqueName('inert');
  const env = cliEnv(redis.url, prefix);
  const output = join(dir.path, 'out');
  const { run } = await submit(join(dir.path, 'input'), output, { shardSize: 2 }, env);
  const { queue, close } = shardQueue(redis.url, prefix);
  try {
    const legit = (await queue.getJob(shardJobId(run, 0)))!.data as Record<string, unknown>;
    await queue.add(SHARD_JOB_NAME, { ...legit, shard: 7 }, { jobId: shardJobId(run, 7), attempts: 1 });
    const finalize = { v: JOB_PAYLOAD_VERSION, run, generation: 0 };
    await queue.add(FINALIZE_JOB_NAME, finalize, { jobId: finalizeJobId(run, 0), delay: 3_600_000 });
    workers = await startWorkers(1, env);
    const record = await waitForRunDone(redis.url, prefix, run);
    assert.deepEqual([record.shards.total, record.shards.done, record.shards.failed], [2, 2, 0]);
    const forged = (await queue.getJob(shardJobId(run, 7)))!;
    assert.equal(await forged.getState(), 'failed');
    assert.match(forged.failedReason, /^INVALID_JOB: .*never made by the run's listing/);
  } finally {
    await close();
  }
  const parts = await readdir(join(output, run, 'metadata'));
  assert.ok(!parts.some((name) => name.includes('000007')), parts.join(', '));
  assert.ok((await readdir(join(output, run))).includes('_manifest.json'));
});
