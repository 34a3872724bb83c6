// The run's precision as submit records and sends it (real Redis, no model): the run record and
// each shard job of an int8 run say int8, an fp32 job is the payload it always was, another
// precision than the base run of an incremental run reprocesses everything, and a resubmission
// with another precision is refused, also by the run's `_run.json` alone (a fresh Redis), where a
// definition written before int8 existed (no precision) is an fp32 run.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type SubmitDeps, submitRun } from '../../producer/submit.ts';
import { configFromEnv, SHARD_QUEUE_NAME } from '../../shared/config.ts';
import { ConfigError } from '../../shared/errors.ts';
import { SHARD_JOB_NAME } from '../../shared/queue/job-payload.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { startRedis, type TestRedis } from '../harness/redis-server.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { finishRunLikeAWorker } from './incremental-finish-run.ts';

const fixtures = new URL('../fixtures/images/', import.meta.url);
const IMAGES = ['astronaut.png', 'chelsea.png', 'coffee.png'];
let redis: TestRedis;
let client: Redis;
let dir: string;

before(async () => {
  redis = await startRedis();
  client = new Redis(redis.url, { maxRetriesPerRequest: null });
  dir = await mkdtemp(join(tmpdir(), 'producer-precision-'));
});

after(async () => {
  client?.disconnect();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

function testDeps(): SubmitDeps & { prefix: string } {
  const prefix = uniqueName('q');
  return { prefix, config: configFromEnv({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix }) };
}

async function inputFolder(): Promise<string> {
  const input = await mkdtemp(join(dir, 'in-'));
  for (const name of IMAGES) await copyFile(new URL(name, fixtures), join(input, name));
  return input;
}

async function jobData(prefix: string, run: string): Promise<Record<string, unknown>[]> {
  const queue = new Queue(SHARD_QUEUE_NAME, { connection: client, prefix });
  try {
    const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed']);
    return jobs
      .filter((job) => job.name === SHARD_JOB_NAME && (job.data as { run?: string }).run === run)
      .map((job) => job.data as Record<string, unknown>);
  } finally {
    await queue.close();
  }
}

describe('submit --precision', () => {
  test('an int8 run records int8, and every shard job asks for int8', async () => {
    const deps = testDeps();
    const input = await inputFolder();
    await submitRun({ input, output: join(dir, 'out'), run: 'int8-run', shardSize: 2, precision: 'int8' }, deps);
    assert.equal((await new RunRegistry(client, deps.prefix).get('int8-run'))?.precision, 'int8');
    const jobs = await jobData(deps.prefix, 'int8-run');
    assert.equal(jobs.length, 2);
    assert.ok(jobs.every((job) => job.precision === 'int8'));
  });

  test('an fp32 run (the default) records fp32, and its jobs carry no precision field', async () => {
    const deps = testDeps();
    const input = await inputFolder();
    await submitRun({ input, output: join(dir, 'out'), run: 'fp32-run' }, deps);
    assert.equal((await new RunRegistry(client, deps.prefix).get('fp32-run'))?.precision, 'fp32');
    const jobs = await jobData(deps.prefix, 'fp32-run');
    assert.ok(jobs.length > 0 && jobs.every((job) => !('precision' in job)));
  });

  test('another precision than the base run of --since reprocesses everything', async () => {
    const deps = testDeps();
    const input = await inputFolder();
    const output = join(dir, 'out');
    await submitRun({ input, output, run: 'base-fp32' }, deps);
    await finishRunLikeAWorker(client, deps.prefix, 'base-fp32', (uri) => openStore(uri));
    const same = await submitRun({ input, output, run: 'again-fp32', since: 'base-fp32' }, deps);
    assert.equal(same.skippedBy.unchanged, IMAGES.length);
    const other = await submitRun({ input, output, run: 'now-int8', since: 'base-fp32', precision: 'int8' }, deps);
    assert.deepEqual(
      { images: other.images, unchanged: other.skippedBy.unchanged },
      { images: IMAGES.length, unchanged: 0 },
    );
  });

  test('resubmitting a run with another precision is refused', async () => {
    const deps = testDeps();
    const input = await inputFolder();
    const output = join(dir, 'out');
    await submitRun({ input, output, run: 'fixed-precision', precision: 'int8' }, deps);
    await assert.rejects(
      submitRun({ input, output, run: 'fixed-precision', precision: 'fp32' }, deps),
      (error: unknown) =>
        error instanceof ConfigError && /differs in --precision \(recorded "int8", now "fp32"\)/.test(error.message),
    );
  });

  test('the run definition on storage records the precision and refuses another from a fresh Redis', async () => {
    const input = await inputFolder();
    const output = join(dir, 'out');
    await submitRun({ input, output, run: 'stored-int8', precision: 'int8' }, testDeps());
    const stored = JSON.parse(await readFile(join(output, 'stored-int8', '_run.json'), 'utf8')) as {
      precision?: string;
    };
    assert.equal(stored.precision, 'int8');
    // Another prefix: Redis does not know the run, so the refusal comes from _run.json.
    await assert.rejects(
      submitRun({ input, output, run: 'stored-int8', precision: 'fp32' }, testDeps()),
      (error: unknown) =>
        error instanceof ConfigError &&
        /in its output \(_run\.json\).*--precision \(recorded "int8", now "fp32"\)/.test(error.message),
    );
  });

  test('a _run.json written before int8 existed (no precision) resumes as an fp32 run', async () => {
    const input = await inputFolder();
    const output = join(dir, 'out');
    await submitRun({ input, output, run: 'before-int8' }, testDeps());
    const path = join(output, 'before-int8', '_run.json');
    const { precision: _precision, ...older } = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    await writeFile(path, `${JSON.stringify(older, null, 2)}\n`);
    const deps = testDeps();
    const resumed = await submitRun({ input, output, run: 'before-int8' }, deps);
    assert.equal(resumed.run, 'before-int8');
    assert.equal((await new RunRegistry(client, deps.prefix).get('before-int8'))?.precision, 'fp32');
    await assert.rejects(
      submitRun({ input, output, run: 'before-int8', precision: 'int8' }, testDeps()),
      (error: unknown) =>
        error instanceof ConfigError && /--precision \(recorded "fp32", now "int8"\)/.test(error.message),
    );
  });
});
