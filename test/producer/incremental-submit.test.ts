import assert from 'node:assert/strict';
import { copyFile, mkdtemp, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { artifactCacheDir } from '../../model/model-cache.ts';
import { type SubmitDeps, submitRun } from '../../producer/submit.ts';
import { ConfigError } from '../../shared/errors.ts';
import { parseShardJob } from '../../shared/queue/job-payload.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { finishRunLikeAWorker } from '../harness/finish-run.ts';
import { copyFixtures, fixturePath, readFixture } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { newBucket, s3StorageConfig, useS3 } from '../harness/s3-server.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { freshSubmitDeps, queuedShardData } from './submit-deps.ts';

// A real model folder (the cached artifact): submit checks --model before anything else.
const MODEL = pathToFileURL(artifactCacheDir()).href;
const IMAGES = ['astronaut.png', 'chelsea.png', 'coffee.png', 'horse.png', 'rocket.jpg'];
const redis = useRedis();
const dir = useTempDir('producer-incremental-');

const testDeps = () => freshSubmitDeps(redis.url);

/** A fresh input folder holding IMAGES. */
const inputFolder = async () => copyFixtures(await mkdtemp(join(dir.path, 'in-')), IMAGES);

/** URIs of the images queued for `run`, sorted. */
async function queuedUris(prefix: string, run: string): Promise<string[]> {
  const jobs = await queuedShardData(redis.client, prefix, run);
  return jobs.flatMap((data) => parseShardJob(data).images.map((image) => image.uri)).sort();
}

const fileUri = (path: string) => pathToFileURL(path).href;

/** A full run of `input`, finished as a worker would; returns its id. */
async function finishedBase(
  deps: SubmitDeps & { prefix: string },
  input: string,
  output: string,
  failUris?: Set<string>,
): Promise<string> {
  const run = uniqueName('base');
  await submitRun({ input, output, run, shardSize: 2, model: MODEL }, deps);
  await finishRunLikeAWorker(redis.client, deps.prefix, run, (uri) => openStore(uri), failUris);
  return run;
}

/** Rewrites a file with other bytes and a later mtime, so its local ETag (mtimeMs-size) changes. */
async function changeFile(path: string): Promise<void> {
  await copyFile(fixturePath('palette_color.png'), path);
  const later = new Date(Date.now() + 60_000);
  await utimes(path, later, later);
}

describe('submit --since', () => {
  test('only the changed and the added image are enqueued after a finished run', async () => {
    const deps = testDeps();
    const input = await inputFolder();
    const output = join(dir.path, 'out');
    const base = await finishedBase(deps, input, output);
    await changeFile(join(input, 'coffee.png'));
    await copyFile(fixturePath('palette_color.png'), join(input, 'new.png'));

    const result = await submitRun({ input, output, run: 'incr-1', shardSize: 2, model: MODEL, since: base }, deps);
    assert.deepEqual(await queuedUris(deps.prefix, 'incr-1'), [
      fileUri(join(input, 'coffee.png')),
      fileUri(join(input, 'new.png')),
    ]);
    assert.deepEqual(
      {
        images: result.images,
        shards: result.shards,
        enqueued: result.enqueued,
        unchanged: result.skippedBy.unchanged,
      },
      { images: 2, shards: 1, enqueued: 1, unchanged: 4 },
    );
  });

  test('the run record names its base run and counts the unchanged images as skipped, and apart', async () => {
    const deps = testDeps();
    const input = await inputFolder();
    const output = join(dir.path, 'out');
    const base = await finishedBase(deps, input, output);
    await submitRun({ input, output, run: 'incr-2', shardSize: 2, model: MODEL, since: base }, deps);
    const record = await new RunRegistry(redis.client, deps.prefix).get('incr-2');
    assert.equal(record?.since, base);
    assert.deepEqual(
      { total: record?.images.total, skipped: record?.images.skipped, unchanged: record?.images.unchanged },
      { total: 0, skipped: 5, unchanged: 5 },
    );
  });

  test('nothing changed gives a run with no shards that is complete at once', async () => {
    const deps = testDeps();
    const input = await inputFolder();
    const output = join(dir.path, 'out');
    const base = await finishedBase(deps, input, output);
    const result = await submitRun({ input, output, run: 'incr-3', model: MODEL, since: base }, deps);
    assert.deepEqual(
      { shards: result.shards, enqueued: result.enqueued, complete: result.complete },
      { shards: 0, enqueued: 0, complete: true },
    );
  });

  test('an image unchanged through an incremental run is still unchanged for the run after it', async () => {
    const deps = testDeps();
    const input = await inputFolder();
    const output = join(dir.path, 'out');
    const base = await finishedBase(deps, input, output);
    await changeFile(join(input, 'coffee.png'));
    await submitRun({ input, output, run: 'chain-1', shardSize: 2, model: MODEL, since: base }, deps);
    await finishRunLikeAWorker(redis.client, deps.prefix, 'chain-1', (uri) => openStore(uri));
    await copyFile(fixturePath('palette_color.png'), join(input, 'new.png'));
    await submitRun({ input, output, run: 'chain-2', shardSize: 2, model: MODEL, since: 'chain-1' }, deps);
    assert.deepEqual(await queuedUris(deps.prefix, 'chain-2'), [fileUri(join(input, 'new.png'))]);
  });

  test('images that failed in the base run are processed again', async () => {
    const deps = testDeps();
    const input = await inputFolder();
    const output = join(dir.path, 'out');
    const failed = fileUri(join(input, 'horse.png'));
    const base = await finishedBase(deps, input, output, new Set([failed]));
    await submitRun({ input, output, run: 'incr-4', model: MODEL, since: base }, deps);
    assert.deepEqual(await queuedUris(deps.prefix, 'incr-4'), [failed]);
  });

  test('another model than the base run reprocesses everything', async () => {
    const deps = testDeps();
    const input = await inputFolder();
    const output = join(dir.path, 'out');
    const base = await finishedBase(deps, input, output);
    const result = await submitRun({ input, output, run: 'incr-5', model: 'default', since: base }, deps);
    assert.equal(result.images, IMAGES.length);
    assert.equal(result.skippedBy.unchanged, 0);
    assert.equal((await queuedUris(deps.prefix, 'incr-5')).length, IMAGES.length);
  });

  test('a base run that has not finished is refused before anything is enqueued', async () => {
    const deps = testDeps();
    const input = await inputFolder();
    const output = join(dir.path, 'out');
    await submitRun({ input, output, run: 'unfinished', model: MODEL }, deps);
    await assert.rejects(
      submitRun({ input, output, run: 'incr-6', model: MODEL, since: 'unfinished' }, deps),
      (error: unknown) => error instanceof ConfigError && /has not finished/.test(error.message),
    );
    assert.equal(await new RunRegistry(redis.client, deps.prefix).get('incr-6'), null);
  });

  test('an unknown base run is refused', async () => {
    const deps = testDeps();
    const input = await inputFolder();
    await assert.rejects(
      submitRun({ input, output: join(dir.path, 'out'), run: 'incr-7', model: MODEL, since: 'no-such-run' }, deps),
      /not registered/,
    );
  });

  test('resubmitting an incremental run enqueues nothing new, and with another --since is refused', async () => {
    const deps = testDeps();
    const input = await inputFolder();
    const output = join(dir.path, 'out');
    const base = await finishedBase(deps, input, output);
    await changeFile(join(input, 'rocket.jpg'));
    const options = { input, output, run: 'incr-8', shardSize: 2, model: MODEL, since: base };
    await submitRun(options, deps);
    assert.equal((await submitRun(options, deps)).enqueued, 0);
    await assert.rejects(
      submitRun({ ...options, since: undefined }, deps),
      /this submit differs in --since \(recorded/,
    );
  });
});

describe('submit --since on S3', () => {
  const s3 = useS3();

  test('an object overwritten with other bytes (new ETag) and a new object are the only ones enqueued', async () => {
    const config = s3StorageConfig(s3);
    const bucket = await newBucket(s3);
    const s3client = new S3Client({ ...config.s3, endpoint: s3.endpoint, credentials: config.s3.credentials! });
    const put = async (key: string, file: string) => {
      await s3client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFixture(file) }));
    };
    try {
      for (const name of IMAGES) await put(`in/${name}`, name);
      const storeFor = (uri: string) => openStore(uri, config);
      const deps = { ...testDeps(), openStore: storeFor };
      const input = `s3://${bucket}/in/`;
      const output = `s3://${bucket}/out`;
      await submitRun({ input, output, run: 'base', shardSize: 2, model: MODEL }, deps);
      await finishRunLikeAWorker(redis.client, deps.prefix, 'base', storeFor);
      await put('in/chelsea.png', 'palette_color.png');
      await put('in/zebra.png', 'green_palette.png');

      const result = await submitRun({ input, output, run: 'incr', shardSize: 2, model: MODEL, since: 'base' }, deps);
      assert.deepEqual(await queuedUris(deps.prefix, 'incr'), [
        `s3://${bucket}/in/chelsea.png`,
        `s3://${bucket}/in/zebra.png`,
      ]);
      assert.equal(result.skippedBy.unchanged, IMAGES.length - 1);
    } finally {
      s3client.destroy();
    }
  });
});
