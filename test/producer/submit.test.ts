import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { artifactCacheDir } from '../../model/model-cache.ts';
import { noSkips } from '../../producer/skip-tally.ts';
import { type SubmitDeps, type SubmitProgress, submitRun } from '../../producer/submit.ts';
import { SHARD_QUEUE_NAME } from '../../shared/config.ts';
import { ConfigError } from '../../shared/errors.ts';
import { FINALIZE_JOB_NAME, JOB_PAYLOAD_VERSION, parseShardJob, shardJobId } from '../../shared/queue/job-payload.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { fixtureNames, fixturePath } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { newBucket, s3StorageConfig, useS3 } from '../harness/s3-server.ts';
import { setUp } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { freshSubmitDeps } from './submit-deps.ts';

// A real model folder (the cached artifact): submit checks --model before anything else.
const MODEL = pathToFileURL(artifactCacheDir()).href;
const redis = useRedis();
const dir = useTempDir('producer-submit-');
let input: string;

setUp(async () => {
  input = join(dir.path, 'input');
  await mkdir(join(input, 'sub'), { recursive: true });
  const images = await fixtureNames();
  for (const name of images)
    await copyFile(fixturePath(name), join(input, images.indexOf(name) % 2 === 0 ? name : `sub/${name}`));
  await writeFile(join(input, 'README.md'), 'not an image');
  await writeFile(join(input, 'sub', 'labels.json'), '{}');
});

/** A fresh queue prefix per test, so no test sees another's jobs or runs. */
const testDeps = (overrides: Record<string, string> = {}) =>
  freshSubmitDeps(redis.url, { JOB_ATTEMPTS: '3', JOB_BACKOFF_MS: '100', ...overrides });

async function queuedJobs(prefix: string) {
  const queue = new Queue(SHARD_QUEUE_NAME, { connection: redis.client, prefix });
  try {
    return await queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized']);
  } finally {
    await queue.close();
  }
}

describe('submitting a run', () => {
  test('a folder becomes shards of K with deterministic ids, payloads that pass the schema, and counted skips', async () => {
    const deps = testDeps();
    const progress: SubmitProgress[] = [];
    const result = await submitRun(
      { input, output: join(dir.path, 'out'), run: 'run-a', shardSize: 4, model: MODEL },
      { ...deps, onProgress: (p) => progress.push(p) },
    );
    assert.deepEqual(
      { shards: result.shards, images: result.images, skipped: result.skipped, enqueued: result.enqueued },
      { shards: 3, images: 11, skipped: 2, enqueued: 3 },
    );
    assert.deepEqual(result.skippedBy, { ...noSkips(), 'not-an-image': 2 });
    const jobs = (await queuedJobs(deps.prefix)).sort((a, b) => String(a.id).localeCompare(String(b.id)));
    assert.deepEqual(
      jobs.map((job) => job.id),
      [0, 1, 2].map((i) => shardJobId('run-a', i)),
    );
    const payloads = jobs.map((job) => parseShardJob(job.data));
    assert.deepEqual(
      payloads.map((payload) => payload.images.length),
      [4, 4, 3],
    );
    assert.deepEqual(payloads[0]?.inputRoots, [pathToFileURL(input).href]);
    assert.equal(payloads[0]?.model, MODEL);
    assert.equal(jobs[0]?.opts.attempts, 3);
    assert.deepEqual(jobs[0]?.opts.backoff, { type: 'exponential', delay: 100 });
    assert.equal(progress.at(-1)?.enqueued, 3);
  });

  test('the run record holds the input, output, model, roots and final totals', async () => {
    const deps = testDeps();
    await submitRun({ input, output: join(dir.path, 'out'), run: 'run-b', shardSize: 5, model: MODEL }, deps);
    const record = await new RunRegistry(redis.client, deps.prefix).get('run-b');
    assert.equal(record?.input, pathToFileURL(input).href);
    assert.equal(record?.output, pathToFileURL(join(dir.path, 'out')).href);
    assert.equal(record?.model, MODEL);
    assert.equal(record?.listingDone, true);
    assert.deepEqual(
      { total: record?.images.total, skipped: record?.images.skipped, shards: record?.shards.total },
      { total: 11, skipped: 2, shards: 3 },
    );
  });

  test('submitting the same run twice enqueues nothing new', async () => {
    const deps = testDeps();
    const options = { input, output: join(dir.path, 'out'), run: 'run-c', shardSize: 4, model: MODEL };
    await submitRun(options, deps);
    const again = await submitRun(options, deps);
    assert.equal(again.resubmitted, true);
    assert.equal(again.enqueued, 0);
    assert.equal((await queuedJobs(deps.prefix)).length, 3);
  });

  test('a resubmission adds only the shards that are neither done nor queued', async () => {
    const deps = testDeps();
    const options = { input, output: join(dir.path, 'out'), run: 'run-d', shardSize: 4, model: MODEL };
    await submitRun(options, deps);
    const queue = new Queue(SHARD_QUEUE_NAME, { connection: redis.client, prefix: deps.prefix });
    await (await queue.getJob(shardJobId('run-d', 1)))?.remove();
    await (await queue.getJob(shardJobId('run-d', 2)))?.remove();
    await queue.close();
    await new RunRegistry(redis.client, deps.prefix).completeShard('run-d', 2, { ok: 3, error: 0 }, 'tfjs-node');
    const again = await submitRun(options, deps);
    assert.equal(again.enqueued, 1);
    assert.deepEqual((await queuedJobs(deps.prefix)).map((job) => job.id).sort(), [
      shardJobId('run-d', 0),
      shardJobId('run-d', 1),
    ]);
  });

  test('a finished run is left alone on resubmission', async () => {
    const deps = testDeps();
    const options = { input, output: join(dir.path, 'out'), run: 'run-e', shardSize: 100, model: MODEL };
    await submitRun(options, deps);
    const registry = new RunRegistry(redis.client, deps.prefix);
    await registry.completeShard('run-e', 0, { ok: 11, error: 0 }, 'tfjs-node');
    await registry.markFinished('run-e');
    const queue = new Queue(SHARD_QUEUE_NAME, { connection: redis.client, prefix: deps.prefix });
    await queue.obliterate({ force: true });
    await queue.close();
    const again = await submitRun(options, deps);
    assert.deepEqual(
      { enqueued: again.enqueued, complete: again.complete, images: again.images },
      { enqueued: 0, complete: true, images: 11 },
    );
    assert.equal((await queuedJobs(deps.prefix)).length, 0);
  });

  test('an input with no image at all completes at once and queues the finaliser', async () => {
    const deps = testDeps();
    const result = await submitRun(
      { input: join(input, 'README.md'), output: join(dir.path, 'out'), run: 'run-f', model: MODEL },
      deps,
    );
    assert.deepEqual(
      { shards: result.shards, skipped: result.skipped, complete: result.complete },
      { shards: 0, skipped: 1, complete: true },
    );
    const jobs = await queuedJobs(deps.prefix);
    assert.deepEqual(
      jobs.map((job) => [job.id, job.name, job.data]),
      [['run-f__manifest-g0', FINALIZE_JOB_NAME, { v: JOB_PAYLOAD_VERSION, run: 'run-f', generation: 0 }]],
    );
  });

  test('a generated run id is sortable by time and accepted by the schema', async () => {
    const deps = testDeps();
    const result = await submitRun(
      { input, output: join(dir.path, 'out'), model: MODEL },
      { ...deps, now: () => new Date('2026-11-26T20:30:15Z') },
    );
    assert.match(result.run, /^20261126-203015-[0-9a-f]{6}$/);
  });
});

describe('refusing bad configuration before anything is enqueued', () => {
  async function assertRefused(
    deps: SubmitDeps & { prefix: string },
    options: Parameters<typeof submitRun>[0],
    message: RegExp,
  ): Promise<void> {
    await assert.rejects(
      submitRun(options, deps),
      (error: unknown) => error instanceof ConfigError && message.test(error.message),
    );
    assert.equal((await queuedJobs(deps.prefix)).length, 0);
    assert.equal(await new RunRegistry(redis.client, deps.prefix).get(options.run ?? ''), null);
  }

  test('an unreachable Redis is named with the variable to fix', async () => {
    const deps = testDeps({ REDIS_URL: 'redis://127.0.0.1:1' });
    await assertRefused(
      deps,
      { input, output: join(dir.path, 'out'), run: 'bad-redis', model: MODEL },
      /cannot reach Redis.*check REDIS_URL/,
    );
  });

  test('a missing REDIS_URL says how to set it', async () => {
    const deps = testDeps();
    delete deps.config.REDIS_URL;
    await assertRefused(
      deps,
      { input, output: join(dir.path, 'out'), run: 'no-redis', model: MODEL },
      /REDIS_URL is not set.*redis:\/\/localhost:6379/,
    );
  });

  test('a missing input is refused', async () => {
    await assertRefused(
      testDeps(),
      { input: join(dir.path, 'nope'), output: join(dir.path, 'out'), run: 'no-input', model: MODEL },
      /does not exist/,
    );
  });

  test('an output folder that cannot be created is refused with the fix', async () => {
    const blocker = join(dir.path, 'a-file');
    await writeFile(blocker, 'x');
    await assertRefused(
      testDeps(),
      { input, output: join(blocker, 'out'), run: 'bad-out', model: MODEL },
      /is not writable.*make .* a folder this user can write/,
    );
  });

  test('an invalid run id or shard size is refused', async () => {
    await assertRefused(
      testDeps(),
      { input, output: join(dir.path, 'out'), run: 'a:b', model: MODEL },
      /run id 'a:b' is not allowed/,
    );
    await assertRefused(
      testDeps(),
      { input, output: join(dir.path, 'out'), run: 'k0', shardSize: 0, model: MODEL },
      /shard size must be/,
    );
  });

  test('the same run id with another output is refused and nothing more is enqueued', async () => {
    const deps = testDeps();
    await submitRun({ input, output: join(dir.path, 'out'), run: 'run-x', shardSize: 100, model: MODEL }, deps);
    await assert.rejects(
      submitRun({ input, output: join(dir.path, 'other-out'), run: 'run-x', shardSize: 100, model: MODEL }, deps),
      (error: unknown) =>
        error instanceof ConfigError &&
        /run run-x is already defined in Redis, and this submit differs in --output \(recorded/.test(error.message),
    );
    assert.equal((await queuedJobs(deps.prefix)).length, 1);
  });

  test('the same run id with another shard size is refused, since shard i would hold other images', async () => {
    const deps = testDeps();
    await submitRun({ input, output: join(dir.path, 'out'), run: 'run-k', shardSize: 100, model: MODEL }, deps);
    await assert.rejects(
      submitRun({ input, output: join(dir.path, 'out'), run: 'run-k', shardSize: 2, model: MODEL }, deps),
      (error: unknown) => error instanceof ConfigError && /--shard-size \(recorded 100, now 2\)/.test(error.message),
    );
    assert.equal((await queuedJobs(deps.prefix)).length, 1);
  });

  describe('S3 output', () => {
    const s3 = useS3();

    test('an output in a missing bucket is refused with how to create it', async () => {
      const config = s3StorageConfig(s3);
      const deps = { ...testDeps(), openStore: (uri: string) => openStore(uri, config) };
      await assertRefused(
        deps,
        { input, output: `s3://${uniqueName('missing')}/out`, run: 'no-bucket', model: MODEL },
        /bucket does not exist.*aws s3 mb/,
      );
    });

    test('an output in an existing bucket passes the write check and removes its probe', async () => {
      const config = s3StorageConfig(s3);
      const bucket = await newBucket(s3);
      const deps = { ...testDeps(), openStore: (uri: string) => openStore(uri, config) };
      const result = await submitRun(
        { input, output: `s3://${bucket}/out`, run: 'to-s3', shardSize: 100, model: MODEL },
        deps,
      );
      assert.equal(result.enqueued, 1);
      const store = openStore(`s3://${bucket}/`, config);
      assert.equal(await store.stat(`s3://${bucket}/out/to-s3/.write-check`), null);
      await store.close();
    });
  });
});
