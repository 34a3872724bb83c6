import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScheduleLock } from '../../schedule/schedule-lock.ts';
import { useRedis } from '../harness/redis-server.ts';
import { uniqueName } from '../harness/unique-name.ts';

const redis = useRedis();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a held lock is refused to a second holder and free again after release', async () => {
  const lock = new ScheduleLock(redis.client, uniqueName('q'));
  const lease = await lock.acquire('nightly');
  assert.notEqual(lease, null);
  assert.equal(await lock.acquire('nightly'), null);
  await lease?.release();
  const again = await lock.acquire('nightly');
  assert.notEqual(again, null);
  await again?.release();
});

test('a lease is renewed while held, past its time to live', async () => {
  const lock = new ScheduleLock(redis.client, uniqueName('q'), 300);
  const lease = await lock.acquire('nightly');
  await sleep(800);
  assert.equal(await lock.acquire('nightly'), null);
  await lease?.release();
});

test('a lease that expired cannot release the lock of the holder after it', async () => {
  const prefix = uniqueName('q');
  const lock = new ScheduleLock(redis.client, prefix, 300);
  const stale = await lock.acquire('nightly');
  // Simulates a holder frozen past its time to live: the key expires under it.
  await redis.client.del(lock.key('nightly'));
  const current = await lock.acquire('nightly');
  await stale?.release();
  assert.equal(await lock.acquire('nightly'), null);
  await current?.release();
});

test('locks of two schedules are independent', async () => {
  const lock = new ScheduleLock(redis.client, uniqueName('q'));
  const [a, b] = await Promise.all([lock.acquire('a'), lock.acquire('b')]);
  assert.ok(a !== null && b !== null);
  await Promise.all([a.release(), b.release()]);
});
