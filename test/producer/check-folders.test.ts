import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { checkOutputWritable } from '../../producer/check-output.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { runCli } from '../harness/cli.ts';
import { startRedis, type TestRedis } from '../harness/redis-server.ts';
import { s3Env, s3StorageConfig, startS3, type TestS3 } from '../harness/s3-server.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * Issue 19: the output write check leaves nothing behind: neither `<run>/.write-check` of a
 * submit nor the `<name>-schedule-check/` folder of `schedule add`, on a local folder and on S3
 * (s3rver). ObjectStore.delete, which removes the probe, is also checked on its own here.
 */

const fixtures = new URL('../fixtures/images/', import.meta.url);
let dir: string;
let redis: TestRedis;
let s3: TestS3;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'check-folders-'));
  await mkdir(join(dir, 'in'));
  await copyFile(new URL('chelsea.png', fixtures), join(dir, 'in', 'chelsea.png'));
  [redis, s3] = await Promise.all([startRedis(), startS3()]);
});

after(async () => {
  await Promise.all([redis?.stop(), s3?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function s3Keys(bucket: string): Promise<string[]> {
  const store = openStore(`s3://${bucket}/`, s3StorageConfig(s3));
  try {
    const keys: string[] = [];
    for await (const page of store.list(`s3://${bucket}/`)) keys.push(...page.map((info) => info.uri));
    return keys;
  } finally {
    await store.close();
  }
}

describe('the output write check', () => {
  test('on a local folder, removes its probe and the run folder it made', async () => {
    const out = join(dir, 'local-out');
    await checkOutputWritable(out, 'run-1', (uri) => openStore(uri));
    assert.deepEqual(await readdir(out), []);
  });

  test("on a local folder, keeps the run's folder when something else is in it", async () => {
    const out = join(dir, 'resumed-out');
    await mkdir(join(out, 'run-1'), { recursive: true });
    await writeFile(join(out, 'run-1', '_run.json'), '{}');
    await checkOutputWritable(out, 'run-1', (uri) => openStore(uri));
    assert.deepEqual(await readdir(join(out, 'run-1')), ['_run.json']);
  });

  test('on S3, removes its probe', async () => {
    const bucket = uniqueName('bkt');
    await s3.createBucket(bucket);
    await checkOutputWritable(`s3://${bucket}/out`, 'run-1', (uri) => openStore(uri, s3StorageConfig(s3)));
    assert.deepEqual(await s3Keys(bucket), []);
  });
});

describe('schedule add', () => {
  const env = () => ({ REDIS_URL: redis.url, QUEUE_PREFIX: uniqueName('sched'), LOG_LEVEL: 'warn' });

  test('leaves no <name>-schedule-check folder in a local output', async () => {
    const out = join(dir, 'schedule-out');
    await mkdir(out);
    const added = await runCli(
      ['schedule', 'add', 'nightly', join(dir, 'in'), '--cron', '0 3 * * *', '--output', out],
      env(),
    );
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual(await readdir(out), []);
  });

  test('leaves no <name>-schedule-check object in an S3 output', async () => {
    const bucket = uniqueName('bkt');
    await s3.createBucket(bucket);
    const added = await runCli(
      ['schedule', 'add', 'nightly', join(dir, 'in'), '--cron', '0 3 * * *', '--output', `s3://${bucket}/out`],
      { ...env(), ...s3Env(s3) },
    );
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual(await s3Keys(bucket), []);
  });
});

describe('ObjectStore.delete', () => {
  test('of an object that does not exist does nothing, on a local folder and on S3', async () => {
    const bucket = uniqueName('bkt');
    await s3.createBucket(bucket);
    for (const [uri, store] of [
      [pathToFileURL(join(dir, 'nothing', 'here.json')).href, openStore(dir)],
      [`s3://${bucket}/nothing/here.json`, openStore(`s3://${bucket}/`, s3StorageConfig(s3))],
    ] as const) {
      await store.delete(uri);
      await store.close();
    }
  });
});
