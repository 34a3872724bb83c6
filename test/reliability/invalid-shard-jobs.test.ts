import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { shardJobId } from '../../shared/queue/job-payload.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { cliEnv, startWorkers, stopWorkers, submit } from '../harness/cli.ts';
import { copyFixtures } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { shardQueue, waitForRunDone } from '../harness/run-state.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * Issue 19: a shard job whose payload fails validation (damaged or rewritten in Redis after
 * submit) is counted as its shard's failure, so the run ends (with that shard failed, for
 * `retry`) instead of staying "queued" for ever.
 */

const IMAGES = ['chelsea.png', 'rocket.jpg', 'horse.png', 'coffee.png'];

const redis = useRedis();
let workers: ServerProcess[] = [];
const dir = useTempDir('invalid-jobs-');

setUp(async () => {
  await copyFixtures(join(dir.path, 'input'), IMAGES);
});

teardown(() => stopWorkers(workers));

test('a shard whose payload fails the schema is counted failed and the run ends', async () => {
  const prefix = uniqueName('invalid');
  const env = cliEnv(redis.url, prefix);
  const { run } = await submit(join(dir.path, 'input'), join(dir.path, 'out'), { shardSize: 2 }, env);
  const { queue, close } = shardQueue(redis.url, prefix);
  try {
    const job = (await queue.getJob(shardJobId(run, 0)))!;
    const data = job.data as { images: Array<Record<string, unknown>> };
    // A carried field with an empty name: what a pandas index column became before submit refused it.
    await job.updateData({ ...data, images: data.images.map((image) => ({ ...image, fields: { '': 0 } })) });
  } finally {
    await close();
  }
  workers = await startWorkers(1, env);
  const record = await waitForRunDone(redis.url, prefix, run);
  assert.deepEqual(record.shards.failedShards, [0]);
  assert.equal(record.shards.done, 1);
});
