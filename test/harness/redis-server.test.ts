import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { startRedis } from './redis-server.ts';

/** One short-lived connection; never retries, so a dead server fails fast instead of hanging. */
async function withClient<T>(url: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, {
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // Connection failures surface as the rejected promise below; the event would only be noise.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    client.disconnect();
  }
}

describe('startRedis', () => {
  test('a started redis answers PING on its url and is gone after stop', async () => {
    const redis = await startRedis();
    try {
      assert.equal(await withClient(redis.url, (client) => client.ping()), 'PONG');
    } finally {
      await redis.stop();
    }
    assert.equal(existsSync(redis.dir), false);
    await assert.rejects(withClient(redis.url, (client) => client.ping()));
  });

  test('a password-protected redis refuses commands without the password and accepts its url', async (t) => {
    const redis = await startRedis({ password: 'hunter2' });
    t.after(() => redis.stop());
    assert.match(redis.url, /^redis:\/\/:hunter2@127\.0\.0\.1:\d+$/);
    assert.equal(await withClient(redis.url, (client) => client.ping()), 'PONG');
    await assert.rejects(
      withClient(`redis://127.0.0.1:${redis.port}`, (client) => client.ping()),
      /NOAUTH/,
    );
  });

  test('with appendonly, data written before a SIGKILL is there after restart', async (t) => {
    const redis = await startRedis({ appendonly: true });
    t.after(() => redis.stop());
    await withClient(redis.url, (client) => client.set('shard:1', 'done'));
    await redis.kill('SIGKILL');
    await assert.rejects(withClient(redis.url, (client) => client.ping()));
    await redis.restart();
    assert.equal(await withClient(redis.url, (client) => client.get('shard:1')), 'done');
  });
});
