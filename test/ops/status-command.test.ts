// `resnet-batch status` (with --wait and its exit codes) and `resnet-batch runs`, as a script
// runs them: the real CLI against a real Redis. The run records are written with RunRegistry
// where the test needs a run in a given state, and by a real worker where it needs progress.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { shardJobId } from '../../shared/queue/job-payload.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { runCli, startOnnxWorker, submit } from '../harness/cli.ts';
import { stagePhotoCopies } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { waitForActiveShard } from '../harness/run-state.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

const redis = useRedis();
let client: Redis;

setUp(async () => {
  client = new Redis(redis.url);
});

teardown(async () => {
  client?.disconnect();
});

/** A run in the registry with `shards` shards of 10 images, listing done; returns its registry. */
async function registeredRun(prefix: string, run: string, shards: number, createdAt = new Date()) {
  const registry = new RunRegistry(client, prefix);
  await registry.create(
    {
      run,
      input: '/data/photos',
      output: '/data/out',
      model: 'default',
      inputRoots: ['/data/photos/'],
      shardSize: 10,
      normalize: false,
      carriedColumns: [],
    },
    createdAt,
  );
  await registry.finishListing(run, { images: shards * 10, skipped: 0, unchanged: 0, shards });
  await registry.markStarted(run);
  return registry;
}

interface RunsEntry {
  run: string;
  state: string;
  images: { total: number; ok: number; error: number };
  shards: { total: number; done: number; failed: number };
  finished_at: string | null;
}

interface StatusJson {
  state: string;
  images: { ok: number; error: number; processed: number };
  shards: { done: number };
  images_per_second_last_minute: number;
  eta_seconds: number | null;
  workers: number | null;
}

function env(prefix: string): Record<string, string> {
  return { REDIS_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn', METRICS_PORT: '0' };
}

describe('status --wait exit codes', () => {
  test('0 when every input has an ok row, with the final status as JSON on stdout', async () => {
    const prefix = uniqueName('status');
    const registry = await registeredRun(prefix, 'all-rows', 2);
    await registry.completeShard('all-rows', 0, { ok: 10, error: 0 }, 'onnx');
    await registry.completeShard('all-rows', 1, { ok: 10, error: 0 }, 'onnx');
    await registry.markFinished('all-rows');
    const result = await runCli(['status', 'all-rows', '--wait', '--json'], env(prefix));
    assert.equal(result.code, 0, result.stderr);
    const status = JSON.parse(result.stdout);
    assert.equal(status.state, 'done');
    assert.deepEqual([status.images.ok, status.images.error, status.images.processed], [20, 0, 20]);
  });

  test('2 when the run finished with a failed shard; plain status of the same run exits 0', async () => {
    const prefix = uniqueName('status');
    const registry = await registeredRun(prefix, 'one-failed', 2);
    await registry.completeShard('one-failed', 0, { ok: 10, error: 0 }, 'onnx');
    await registry.failShard('one-failed', 1);
    await registry.markFinished('one-failed');
    const waited = await runCli(['status', 'one-failed', '--wait'], env(prefix));
    assert.equal(waited.code, 2, waited.stderr);
    assert.match(waited.stdout, /1 failed \(1; resnet-batch retry one-failed\)/);
    assert.equal((await runCli(['status', 'one-failed'], env(prefix))).code, 0);
  });

  test('124 when --timeout passes first, saying the run goes on; the run is untouched', async () => {
    const prefix = uniqueName('status');
    const registry = await registeredRun(prefix, 'slow', 3);
    await registry.completeShard('slow', 0, { ok: 10, error: 0 }, 'onnx');
    const result = await runCli(['status', 'slow', '--wait', '--timeout', '1'], env(prefix));
    assert.equal(result.code, 124, result.stderr);
    assert.match(result.stderr, /gave up waiting for run slow after 1 s; it goes on/);
    assert.equal(result.stdout, '', 'nothing on stdout but a final status');
    assert.equal((await registry.get('slow'))?.state, 'running');
  });

  test('1 when the run does not exist, naming the run and the prefix', async () => {
    const prefix = uniqueName('status');
    const result = await runCli(['status', 'no-such-run', '--wait'], env(prefix));
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`run 'no-such-run' not found under QUEUE_PREFIX '${prefix}'`));
  });

  test('1 when Redis is unreachable, with what to check', async () => {
    const result = await runCli(['status', 'any', '--wait'], { ...env('x'), REDIS_URL: 'redis://127.0.0.1:1' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1 .*check REDIS_URL/);
  });

  test('--timeout without --wait is refused', async () => {
    const result = await runCli(['status', 'any', '--timeout', '5'], env('x'));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--timeout needs --wait/);
  });
});

describe('status of a run no worker listens for', () => {
  test('says that no worker is connected under this QUEUE_PREFIX, and how to start one', async () => {
    const prefix = uniqueName('status');
    await registeredRun(prefix, 'orphan', 1);
    const result = await runCli(['status', 'orphan'], env(prefix));
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`workers   0: no worker is connected to this queue \\(QUEUE_PREFIX '${prefix}'\\)`),
    );
    assert.match(result.stdout, /start one with resnet-batch worker/);
  });
});

describe('runs', () => {
  const prefix = uniqueName('runs');

  before(async () => {
    const older = await registeredRun(prefix, 'catalogue-1', 1, new Date('2026-11-30T10:00:00Z'));
    await older.completeShard('catalogue-1', 0, { ok: 8, error: 2 }, 'onnx');
    await older.markFinished('catalogue-1', new Date('2026-11-30T10:05:00Z'));
    const newer = await registeredRun(prefix, 'catalogue-2', 2, new Date('2026-12-01T10:00:00Z'));
    await newer.failShard('catalogue-2', 1);
  });

  test('--json lists every run newest first, with state, counts and times', async () => {
    const result = await runCli(['runs', '--json'], env(prefix));
    assert.equal(result.code, 0, result.stderr);
    const runs = JSON.parse(result.stdout) as RunsEntry[];
    assert.deepEqual(
      runs.map((run) => run.run),
      ['catalogue-2', 'catalogue-1'],
    );
    assert.deepEqual(runs[1]?.images, { total: 10, ok: 8, error: 2 });
    assert.equal(runs[1]?.state, 'done');
    assert.equal(runs[1]?.finished_at, '2026-11-30T10:05:00.000Z');
    assert.deepEqual(runs[0]?.shards, { total: 2, done: 0, failed: 1 });
    assert.equal(runs[0]?.finished_at, null);
  });

  test('the table names failed shards in the state column and aligns the counts', async () => {
    const result = await runCli(['runs'], env(prefix));
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^RUN\s+STATE\s+OK\s+ERROR\s+TOTAL\s+STARTED\s+FINISHED$/);
    assert.match(
      lines[1] ?? '',
      /^catalogue-2\s+running, 1 shard\(s\) failed\s+0\s+0\s+20\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+-$/,
    );
    assert.match(lines[2] ?? '', /^catalogue-1\s+done\s+8\s+2\s+10\s+.*2026-11-30 10:05:00$/);
  });

  test('--limit keeps the newest', async () => {
    const result = await runCli(['runs', '--json', '--limit', '1'], env(prefix));
    assert.deepEqual(
      (JSON.parse(result.stdout) as Array<{ run: string }>).map((run) => run.run),
      ['catalogue-2'],
    );
  });

  test('a prefix with no runs says so', async () => {
    const result = await runCli(['runs'], env(uniqueName('none')));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'no runs under this QUEUE_PREFIX\n');
  });
});

describe('progress within a shard, with a real worker', () => {
  const prefix = uniqueName('progress');
  const dir = useTempDir('resnet-batch-progress-');
  let worker: ServerProcess | undefined;
  let run: string;
  let midShard: StatusJson;
  let waited: Awaited<ReturnType<typeof runCli>>;

  before(async () => {
    await stagePhotoCopies(join(dir.path, 'input'), 100);
    // One shard of 100 images, processed by batches of 4 (startOnnxWorker).
    ({ run } = await submit(join(dir.path, 'input'), join(dir.path, 'out'), { shardSize: 100 }, env(prefix)));
    worker = await startOnnxWorker(env(prefix));
    await waitForActiveShard(redis.url, prefix, shardJobId(run, 0), 120_000);
    // Frozen inside its shard, the worker cannot move on while status reads the run.
    worker.child.kill('SIGSTOP');
    try {
      const result = await runCli(['status', run, '--json'], env(prefix));
      assert.equal(result.code, 0, result.stderr);
      midShard = JSON.parse(result.stdout) as StatusJson;
    } finally {
      worker.child.kill('SIGCONT');
    }
    waited = await runCli(['status', run, '--wait', '--json', '--timeout', '300'], env(prefix), 320_000);
  });

  teardown(async () => {
    await worker?.stop();
  });

  test('status counts the images of the shard in progress before it completes', () => {
    assert.equal(midShard.shards.done, 0);
    assert.equal(midShard.images.ok + midShard.images.error, 0, 'no shard counted yet');
    assert.ok(
      midShard.images.processed > 0 && midShard.images.processed < 100,
      `processed ${midShard.images.processed}`,
    );
    assert.ok(midShard.images_per_second_last_minute > 0);
    assert.equal(typeof midShard.eta_seconds, 'number');
    assert.equal(midShard.workers, 1);
  });

  test('status --wait returns when the run is done, exit 0, every image counted', () => {
    assert.equal(waited.code, 0, waited.stderr);
    const status = JSON.parse(waited.stdout) as StatusJson;
    assert.equal(status.state, 'done');
    assert.equal(status.images.ok + status.images.error, 100);
    assert.equal(status.images.processed, 100);
  });
});
