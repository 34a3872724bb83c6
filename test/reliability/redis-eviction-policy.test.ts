import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { shardJobId } from '../../shared/queue/job-payload.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { runCli, startOnnxWorker, stopWorkers } from '../harness/cli.ts';
import { FIXTURES_DIR } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { shardQueue, waitFor } from '../harness/run-state.ts';
import { teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { reliabilityEnv } from './reliability-harness.ts';

/**
 * BullMQ needs a Redis that never evicts: under memory pressure an evicting policy (allkeys-lru)
 * dropped 51 of 100 job payloads, and the run could not complete under its id. So submit and the
 * worker refuse such a Redis at start, naming the policy and the fix (a real redis-server set to
 * allkeys-lru with CONFIG SET). And a payload that is gone anyway (its hash field evicted,
 * reproduced with HDEL) is reported as evicted, not as a malformed job.
 */

const redis = useRedis();
const dir = useTempDir('eviction-');
let workers: ServerProcess[] = [];

async function setPolicy(policy: string): Promise<void> {
  const admin = new Redis(redis.url);
  try {
    await admin.config('SET', 'maxmemory-policy', policy);
  } finally {
    admin.disconnect();
  }
}

teardown(async () => {
  if (workers.length > 0) await stopWorkers(workers);
});

describe('a Redis whose maxmemory-policy evicts keys (allkeys-lru)', () => {
  before(() => setPolicy('allkeys-lru'));
  after(() => setPolicy('noeviction'));

  test('submit refuses it before enqueueing, naming the policy and the fix', async () => {
    const env = reliabilityEnv(redis.url, uniqueName('lru'));
    const result = await runCli(['submit', FIXTURES_DIR, '--output', join(dir.path, 'out')], env);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /maxmemory-policy is 'allkeys-lru'.*CONFIG SET maxmemory-policy noeviction/);
    const { queue, close } = shardQueue(redis.url, env.QUEUE_PREFIX ?? '');
    try {
      assert.equal(await queue.count(), 0);
    } finally {
      await close();
    }
  });

  test('a worker refuses it at start and exits 1 with one line saying why', async () => {
    const result = await runCli(
      ['worker', '--engine', 'onnx', '--metrics-port', '0'],
      reliabilityEnv(redis.url, uniqueName('lru')),
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /resnet-batch: CONFIG: Redis maxmemory-policy is 'allkeys-lru'/);
    assert.doesNotMatch(result.stderr, /worker ready/);
  });
});

describe('a shard whose payload was evicted from Redis', () => {
  test('fails at once as INVALID_JOB saying it was evicted and what to do', async () => {
    const env = reliabilityEnv(redis.url, uniqueName('evicted'));
    const submitted = await runCli(
      ['submit', FIXTURES_DIR, '--output', join(dir.path, 'evicted'), '--shard-size', '4'],
      env,
    );
    assert.equal(submitted.code, 0, submitted.stderr);
    const run = submitted.stdout.trim();
    const { queue, close } = shardQueue(redis.url, env.QUEUE_PREFIX ?? '');
    try {
      const jobId = shardJobId(run, 0);
      const admin = new Redis(redis.url);
      await admin.hdel(queue.toKey(jobId), 'data');
      admin.disconnect();
      workers = [await startOnnxWorker(env)];
      await waitFor(
        'the shard with no payload fails',
        async () => (await queue.getJob(jobId))?.failedReason !== undefined,
        120_000,
      );
      const job = await queue.getJob(jobId);
      assert.match(
        job?.failedReason ?? '',
        /^INVALID_JOB: job \S+ has no payload left in Redis: it was evicted \(set maxmemory-policy noeviction/,
      );
    } finally {
      await close();
    }
  });
});
