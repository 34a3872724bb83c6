import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { RunManifest } from '../../shared/output/output-format.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import { type CliResult, runCli } from '../harness/cli.ts';
import { startRedis, type TestRedis } from '../harness/redis-server.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * Issue 19: a run resumed in a new Redis (`run` again with the same --run after a stop) keeps the
 * first attempt's started_at in its manifest, names only engines that ran, and counts the shards
 * it found committed as reused (left out of its rates). The stop is made deterministic: a whole
 * run with one image per shard, then its manifest and one shard's parts removed, which is what a
 * run stopped after committing the other shards leaves. Real images, the onnx engine, a test Redis
 * for the resume so its record can be read.
 */

const fixtures = new URL('../fixtures/images/', import.meta.url);
const RUN = 'resumed';
let dir: string;
let redis: TestRedis;
let prefix: string;
let first: RunManifest;
let resumed: CliResult;
let second: RunManifest;

const manifestOf = async (): Promise<RunManifest> =>
  JSON.parse(await readFile(join(dir, 'out', RUN, '_manifest.json'), 'utf8')) as RunManifest;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'run-resume-history-'));
  redis = await startRedis();
  prefix = uniqueName('resume');
  const input = join(dir, 'in');
  await mkdir(input);
  for (const name of ['chelsea.png', 'coffee.png', 'rocket.jpg'])
    await copyFile(new URL(name, fixtures), join(input, name));
  const args = ['run', input, '--output', join(dir, 'out'), '--run', RUN, '--shard-size', '1', '--engine', 'onnx'];
  const env = { LOG_LEVEL: 'warn', METRICS_PORT: '0' };
  const whole = await runCli(args, { ...env, REDIS_URL: undefined, QUEUE_PREFIX: prefix }, 240_000);
  assert.equal(whole.code, 0, whole.stderr);
  first = await manifestOf();
  await rm(join(dir, 'out', RUN, '_manifest.json'));
  for (const part of ['embeddings/part-00002.npy', 'metadata/part-00002.parquet', 'errors/part-00002.parquet'])
    await rm(join(dir, 'out', RUN, part));
  resumed = await runCli(args, { ...env, REDIS_URL: redis.url, QUEUE_PREFIX: prefix }, 240_000);
  second = await manifestOf();
});

after(async () => {
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a run resumed in a new Redis', () => {
  test('finishes, every input with a row', () => {
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(second.images, { total: 3, ok: 3, error: 0, skipped: 0 });
  });

  test("keeps the first attempt's started_at in its manifest", () => {
    assert.equal(second.started_at, first.started_at);
    assert.ok(second.finished_at > first.finished_at);
  });

  test('names only the engine that ran, never unknown', () => {
    assert.deepEqual(first.engines, ['onnx-cpu']);
    assert.deepEqual(second.engines, ['onnx-cpu']);
  });

  test('counts the images of the shards it found committed as reused, not as its own', async () => {
    const connection = new Redis(redis.url);
    try {
      const record = await new RunRegistry(connection, prefix).require(RUN);
      assert.equal(record.images.reused, 2);
      assert.equal(record.firstStartedAt, first.started_at);
    } finally {
      connection.disconnect();
    }
  });
});
