// The run's precision as submit records and sends it (real Redis, no model): the run record and
// each shard job of an int8 run say int8, an fp32 job is the payload it always was, another
// precision than the base run of an incremental run reprocesses everything, and a resubmission
// with another precision is refused, also by the run's `_run.json` alone (a fresh Redis), where a
// definition written before int8 existed (no precision) is an fp32 run.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { submitRun } from '../../producer/submit.ts';
import { ConfigError } from '../../shared/errors.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { finishRunLikeAWorker } from '../harness/finish-run.ts';
import { copyFixtures } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { freshSubmitDeps, queuedShardData } from './submit-deps.ts';

const IMAGES = ['astronaut.png', 'chelsea.png', 'coffee.png'];
const redis = useRedis();
const dir = useTempDir('producer-precision-');

const testDeps = () => freshSubmitDeps(redis.url);
const inputFolder = async () => copyFixtures(await mkdtemp(join(dir.path, 'in-')), IMAGES);
const jobData = async (prefix: string, run: string) =>
  (await queuedShardData(redis.client, prefix, run)) as Record<string, unknown>[];

describe('submit --precision', () => {
  test('an int8 run records int8, and every shard job asks for int8', async () => {
    const deps = testDeps();
    const input = await inputFolder();
    await submitRun({ input, output: join(dir.path, 'out'), run: 'int8-run', shardSize: 2, precision: 'int8' }, deps);
    assert.equal((await new RunRegistry(redis.client, deps.prefix).get('int8-run'))?.precision, 'int8');
    const jobs = await jobData(deps.prefix, 'int8-run');
    assert.equal(jobs.length, 2);
    assert.ok(jobs.every((job) => job.precision === 'int8'));
  });

  test('an fp32 run (the default) records fp32, and its jobs carry no precision field', async () => {
    const deps = testDeps();
    const input = await inputFolder();
    await submitRun({ input, output: join(dir.path, 'out'), run: 'fp32-run' }, deps);
    assert.equal((await new RunRegistry(redis.client, deps.prefix).get('fp32-run'))?.precision, 'fp32');
    const jobs = await jobData(deps.prefix, 'fp32-run');
    assert.ok(jobs.length > 0 && jobs.every((job) => !('precision' in job)));
  });

  test('another precision than the base run of --since reprocesses everything', async () => {
    const deps = testDeps();
    const input = await inputFolder();
    const output = join(dir.path, 'out');
    await submitRun({ input, output, run: 'base-fp32' }, deps);
    await finishRunLikeAWorker(redis.client, deps.prefix, 'base-fp32', (uri) => openStore(uri));
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
    const output = join(dir.path, 'out');
    await submitRun({ input, output, run: 'fixed-precision', precision: 'int8' }, deps);
    await assert.rejects(
      submitRun({ input, output, run: 'fixed-precision', precision: 'fp32' }, deps),
      (error: unknown) =>
        error instanceof ConfigError && /differs in --precision \(recorded "int8", now "fp32"\)/.test(error.message),
    );
  });

  test('the run definition on storage records the precision and refuses another from a fresh Redis', async () => {
    const input = await inputFolder();
    const output = join(dir.path, 'out');
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
    const output = join(dir.path, 'out');
    await submitRun({ input, output, run: 'before-int8' }, testDeps());
    const path = join(output, 'before-int8', '_run.json');
    const { precision: _precision, ...older } = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    await writeFile(path, `${JSON.stringify(older, null, 2)}\n`);
    const deps = testDeps();
    const resumed = await submitRun({ input, output, run: 'before-int8' }, deps);
    assert.equal(resumed.run, 'before-int8');
    assert.equal((await new RunRegistry(redis.client, deps.prefix).get('before-int8'))?.precision, 'fp32');
    await assert.rejects(
      submitRun({ input, output, run: 'before-int8', precision: 'int8' }, testDeps()),
      (error: unknown) =>
        error instanceof ConfigError && /--precision \(recorded "fp32", now "int8"\)/.test(error.message),
    );
  });
});
