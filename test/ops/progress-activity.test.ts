import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { runProgress } from '../../ops/run-progress.ts';
import { RunActivity } from '../../shared/run/run-activity.ts';
import { startRedis, type TestRedis } from '../harness/redis-server.ts';
import { runningRecord } from '../harness/run-record.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * Issue 19: the live rate read back from the run's activity in Redis (what `run`, `status` and the
 * dashboard show) is right seven seconds into a run. Batches recorded and read on injected clocks.
 */

let redis: TestRedis;
let client: Redis;

before(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
});

after(async () => {
  client?.disconnect();
  await redis?.stop();
});

describe('the rate of a young run, from its recorded activity', () => {
  test('70 images in the first 7 s read as 10 img/s, with an ETA at that speed', async () => {
    const activity = new RunActivity(client, uniqueName('activity'));
    const start = Date.parse('2026-12-07T12:00:05.000Z');
    for (let second = 1; second <= 7; second += 1)
      await activity.recordBatch('r', 0, second * 10, 10, start + second * 1000);
    const now = start + 7000;
    const snapshot = await activity.read('r', now);
    assert.equal(snapshot.inFlight, 70);
    assert.equal(snapshot.recentImages, 70);
    const record = runningRecord(start, {
      shardSize: 140,
      images: { total: 140 },
      shards: { total: 1 },
    });
    const progress = runProgress(record, snapshot, new Date(now));
    assert.equal(progress.recentImagesPerSecond, 10);
    assert.equal(progress.etaSeconds, 7);
  });
});
