import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { shardJobId } from '../../shared/queue/job-payload.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { startWorkers, stopWorkers, submit } from '../harness/cli.ts';
import { startRedis, type TestRedis } from '../harness/redis-server.ts';
import { shardQueue, waitForRunDone } from '../harness/run-state.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * Issue 19: a shard job whose payload fails validation (damaged or rewritten in Redis after
 * submit) is counted as its shard's failure, so the run ends (with that shard failed, for
 * `retry`) instead of staying "queued" for ever.
 */

const fixtures = new URL('../fixtures/images/', import.meta.url);
const IMAGES = ['chelsea.png', 'rocket.jpg', 'horse.png', 'coffee.png'];

let redis: TestRedis;
let workers: ServerProcess[] = [];
let dir: string;

before(async () => {
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'invalid-jobs-'));
  await mkdir(join(dir, 'input'));
  for (const name of IMAGES) await copyFile(new URL(name, fixtures), join(dir, 'input', name));
});

after(async () => {
  await stopWorkers(workers);
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a shard whose payload fails the schema is counted failed and the run ends', async () => {
  const env = { REDIS_URL: redis.url, QUEUE_PREFIX: uniqueName('invalid'), LOG_LEVEL: 'warn', METRICS_PORT: '0' };
  const { run } = await submit(join(dir, 'input'), join(dir, 'out'), { shardSize: 2 }, env);
  const { queue, close } = shardQueue(redis.url, env.QUEUE_PREFIX);
  try {
    const job = (await queue.getJob(shardJobId(run, 0)))!;
    const data = job.data as { images: Array<Record<string, unknown>> };
    // A carried field with an empty name: what a pandas index column became before submit refused it.
    await job.updateData({ ...data, images: data.images.map((image) => ({ ...image, fields: { '': 0 } })) });
  } finally {
    await close();
  }
  workers = await startWorkers(1, env);
  const record = await waitForRunDone(redis.url, env.QUEUE_PREFIX, run);
  assert.deepEqual(record.shards.failedShards, [0]);
  assert.equal(record.shards.done, 1);
});
