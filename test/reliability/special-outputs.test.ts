import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCli } from '../harness/cli.ts';
import { startRedis, type TestRedis } from '../harness/redis-server.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * Issue 19: `--output` under /proc hung submit for ever (its write check never answered), and `/`
 * or a system folder was accepted. Both are refused at submit, before anything is written.
 */

const image = new URL('../fixtures/images/chelsea.png', import.meta.url).pathname;
let redis: TestRedis;
let env: Record<string, string>;

before(async () => {
  redis = await startRedis();
  env = { REDIS_URL: redis.url, QUEUE_PREFIX: uniqueName('special'), LOG_LEVEL: 'warn' };
});

after(async () => {
  await redis?.stop();
});

test('an output on /proc, /sys or /dev is refused at submit, naming the special file system', async () => {
  for (const output of ['/proc/self/out', '/sys/kernel/out', '/dev/shm/../null-out']) {
    const result = await runCli(['submit', image, '--output', output], env, 60_000);
    assert.equal(result.code, 1, output);
    assert.match(result.stderr, /is on a special file system/, output);
  }
});

test('an output that is / or a system folder is refused at submit', async () => {
  for (const output of ['/', '/etc', '/usr/', '/var']) {
    const result = await runCli(['submit', image, '--output', output], env, 60_000);
    assert.equal(result.code, 1, output);
    assert.match(result.stderr, /is the system folder/, output);
  }
});
