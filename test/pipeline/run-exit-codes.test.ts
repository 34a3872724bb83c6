import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type CliResult, runCli } from '../harness/cli.ts';
import { startRedis, type TestRedis } from '../harness/redis-server.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * Issue 19: `run` and `status --wait` exit 2 whenever an input has an error row, the summary
 * names the error codes with their first reasons, and `resnet-batch failed` lists exactly the
 * failed inputs as a list a new run processes. Real images (test/fixtures/images), a real Redis
 * (the one `run` brings, and a test Redis for status --wait), the onnx engine.
 */

const fixtures = new URL('../fixtures/images/', import.meta.url);
const RUN = 'with-broken';
let dir: string;
let redis: TestRedis;
let env: Record<string, string | undefined>;
let first: CliResult;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'run-exit-codes-'));
  redis = await startRedis();
  env = { REDIS_URL: redis.url, QUEUE_PREFIX: uniqueName('exit'), LOG_LEVEL: 'warn', METRICS_PORT: '0' };
  const input = join(dir, 'in');
  await mkdir(input);
  for (const name of ['chelsea.png', 'rocket.jpg', 'truncated.jpg'])
    await copyFile(new URL(name, fixtures), join(input, name));
  await writeFile(join(input, 'empty.jpg'), Buffer.alloc(0));
  first = await runCli(
    ['run', input, '--output', join(dir, 'out'), '--run', RUN, '--workers', '1', '--engine', 'onnx'],
    env,
    240_000,
  );
});

after(async () => {
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a run with broken images', () => {
  test('exits 2 although every input has a row', () => {
    assert.equal(first.code, 2, first.stderr);
    assert.match(first.stderr, /done: 2 ok, 2 error/);
    assert.equal(first.stdout, `${RUN}\n`);
  });

  test('its summary names each error code with its count and first reason', () => {
    assert.match(first.stderr, /errors by code/);
    assert.match(first.stderr, /^ {2}1 DECODE_FAILED: \S.*$/m);
    assert.match(first.stderr, /^ {2}1 EMPTY: \S.*$/m);
  });

  test('its summary names the command that lists the failed inputs, and says a rerun keeps the error rows', () => {
    assert.ok(first.stderr.includes(`resnet-batch failed ${join(dir, 'out', RUN)} > failed.txt`), first.stderr);
    assert.ok(first.stderr.includes(`again with --run ${RUN} keeps the committed error rows`), first.stderr);
  });

  test('status --wait of the finished run exits 2 as well', async () => {
    const waited = await runCli(['status', RUN, '--wait', '--json'], env);
    assert.equal(waited.code, 2, waited.stderr);
    assert.equal(JSON.parse(waited.stdout).images.error, 2);
  });
});

describe('resnet-batch failed, then a run of its list', () => {
  test('lists exactly the failed inputs, and a run of the list processes them once they are fixed', async () => {
    const listed = await runCli(['failed', join(dir, 'out', RUN)], { ...env, REDIS_URL: undefined });
    assert.equal(listed.code, 0, listed.stderr);
    const uris = listed.stdout.trim().split('\n').sort();
    const expected = ['empty.jpg', 'truncated.jpg'].map((name) => pathToFileURL(join(dir, 'in', name)).href);
    assert.deepEqual(uris, expected);

    // The fix: the two files replaced by good images, as a user would after reading the reasons.
    await copyFile(new URL('coffee.png', fixtures), join(dir, 'in', 'empty.jpg'));
    await copyFile(new URL('horse.png', fixtures), join(dir, 'in', 'truncated.jpg'));
    await writeFile(join(dir, 'failed.txt'), listed.stdout);
    const again = await runCli(
      ['run', join(dir, 'failed.txt'), '--output', join(dir, 'out'), '--workers', '1', '--engine', 'onnx'],
      { ...env, REDIS_URL: undefined },
      240_000,
    );
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /done: 2 ok, 0 error/);
    assert.doesNotMatch(again.stderr, /errors by code/);
  });

  test('names what it expects when the location is no run', async () => {
    const result = await runCli(['failed', join(dir, 'out', 'no-such-run')], { ...env, REDIS_URL: undefined });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no run at .*no-such-run \(no _run\.json in it\)/);
  });
});
