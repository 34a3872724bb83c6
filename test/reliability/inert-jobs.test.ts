import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  FINALIZE_JOB_NAME,
  finalizeJobId,
  JOB_PAYLOAD_VERSION,
  SHARD_JOB_NAME,
  shardJobId,
} from '../../shared/queue/job-payload.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { startWorkers, stopWorkers, submit } from '../harness/cli.ts';
import { startRedis, type TestRedis } from '../harness/redis-server.ts';
import { shardQueue, waitForRunDone } from '../harness/run-state.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * Issue 19: jobs written straight into Redis that submit and the finaliser did not make are
 * inert. A shard index the listing never made (its images inside the run's roots, so it passes
 * every other check) is refused without writing a part; a finaliser under the run's real id
 * with other options (delayed for an hour) does not hold the id against the real one.
 */

const fixtures = new URL('../fixtures/images/', import.meta.url);
const IMAGES = ['chelsea.png', 'rocket.jpg', 'horse.png'];

let redis: TestRedis;
let workers: ServerProcess[] = [];
let dir: string;

before(async () => {
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'inert-jobs-'));
  await mkdir(join(dir, 'input'));
  for (const name of IMAGES) await copyFile(new URL(name, fixtures), join(dir, 'input', name));
});

after(async () => {
  await stopWorkers(workers);
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a shard index the listing never made is not processed, and a delayed forged finaliser does not block the real one', async () => {
  const env = { REDIS_URL: redis.url, QUEUE_PREFIX: uniqueName('inert'), LOG_LEVEL: 'warn', METRICS_PORT: '0' };
  const output = join(dir, 'out');
  const { run } = await submit(join(dir, 'input'), output, { shardSize: 2 }, env);
  const { queue, close } = shardQueue(redis.url, env.QUEUE_PREFIX);
  try {
    const legit = (await queue.getJob(shardJobId(run, 0)))!.data as Record<string, unknown>;
    await queue.add(SHARD_JOB_NAME, { ...legit, shard: 7 }, { jobId: shardJobId(run, 7), attempts: 1 });
    const finalize = { v: JOB_PAYLOAD_VERSION, run, generation: 0 };
    await queue.add(FINALIZE_JOB_NAME, finalize, { jobId: finalizeJobId(run, 0), delay: 3_600_000 });
    workers = await startWorkers(1, env);
    const record = await waitForRunDone(redis.url, env.QUEUE_PREFIX, run);
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
