import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { ServerProcess } from '../harness/child-process.ts';
import { startRedis, type TestRedis } from '../harness/redis-server.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { stopWorkers } from '../pipeline/pipeline-harness.ts';
import { logLines, reliabilityEnv, startOnnxWorker } from './reliability-harness.ts';

/**
 * A Redis whose maxmemory-policy evicts keys (allkeys-lru, set with CONFIG SET on a real
 * redis-server) can drop queued shards silently: a worker must say so at start. The same worker
 * against noeviction says nothing.
 */

let redis: TestRedis;
let lruWarnings: Array<Record<string, unknown>>;
let noevictionWarnings: Array<Record<string, unknown>>;
let workers: ServerProcess[] = [];

async function policyWarnings(policy: string): Promise<Array<Record<string, unknown>>> {
  const admin = new Redis(redis.url);
  try {
    await admin.config('SET', 'maxmemory-policy', policy);
  } finally {
    admin.disconnect();
  }
  const worker = await startOnnxWorker(reliabilityEnv(redis.url, uniqueName('policy')));
  workers = [worker];
  await stopWorkers(workers);
  workers = [];
  return logLines(worker.output())
    .filter((line) => line.level === 40 || line.level === 'warn')
    .filter((line) => String(line.msg).includes('maxmemory-policy'));
}

before(async () => {
  redis = await startRedis();
  lruWarnings = await policyWarnings('allkeys-lru');
  noevictionWarnings = await policyWarnings('noeviction');
});

after(async () => {
  if (workers.length > 0) await stopWorkers(workers);
  await redis?.stop();
});

describe('the worker start-up check of Redis maxmemory-policy', () => {
  test('warns, naming the policy and the fix, when Redis evicts keys (allkeys-lru)', () => {
    assert.ok(lruWarnings.length >= 1, 'no maxmemory-policy warning');
    assert.equal(lruWarnings[0]!.policy, 'allkeys-lru');
    assert.match(
      String(lruWarnings[0]!.msg),
      /set it to 'noeviction' \(redis-cli CONFIG SET maxmemory-policy noeviction\)/,
    );
  });

  test('says nothing when the policy is noeviction', () => {
    assert.deepEqual(noevictionWarnings, []);
  });
});
