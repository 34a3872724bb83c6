// A worker whose Redis stays unreachable for longer than REDIS_UNREACHABLE_MS exits 1 with one
// line saying so (issue 12), instead of retrying for ever. (Shorter outages it rides out:
// redis-outage.test.ts and redis-restart.test.ts, under the default limit.)
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { ServerProcess } from '../harness/child-process.ts';
import { startOnnxWorker } from '../harness/cli.ts';
import { startRedis, type TestRedis } from '../harness/redis-server.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { reliabilityEnv } from './reliability-harness.ts';

const servers: TestRedis[] = [];
const workers: ServerProcess[] = [];
after(async () => {
  await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
  await Promise.all(servers.map((server) => server.stop()));
});

async function workerOn(limitMs: number): Promise<{ redis: TestRedis; worker: ServerProcess }> {
  const redis = await startRedis();
  servers.push(redis);
  const env = reliabilityEnv(redis.url, uniqueName('redis-gone'), { REDIS_UNREACHABLE_MS: String(limitMs) });
  const worker = await startOnnxWorker(env);
  workers.push(worker);
  return { redis, worker };
}

describe('a worker whose Redis is gone', () => {
  test('exits 1 with one REDIS_UNREACHABLE line once Redis has not answered for REDIS_UNREACHABLE_MS', async () => {
    const { redis, worker } = await workerOn(2_000);
    await redis.kill('SIGKILL');
    assert.equal(await worker.exited, 1, worker.output());
    const lines = worker.output().trimEnd().split('\n');
    assert.equal(lines.filter((line) => line.includes('REDIS_UNREACHABLE')).length, 1, worker.output());
    // The last line, as a supervisor's log shows it: why the worker exited.
    assert.match(
      lines.at(-1)!,
      /^resnet-batch: REDIS_UNREACHABLE: Redis at redis:\/\/127\.0\.0\.1:\d+\/? has not answered for \d+ s/,
    );
  });
});
