import assert from 'node:assert/strict';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { runCli, startOnnxWorker, stopWorkers, submit } from '../harness/cli.ts';
import { stagePhotoCopies } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { waitFor, waitForRunDone } from '../harness/run-state.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { reliabilityEnv, statusJson } from './reliability-harness.ts';

/**
 * A finaliser whose manifest write fails for good (here: a folder sits where _manifest.json must
 * go, as a full disk or a revoked permission would refuse it) used to leave `run` printing
 * "4/4 images" for ever, `status` saying running with ETA 0 and `retry` doing nothing. Now the
 * failure is on the run: status says "finalising failed: <reason>", `retry` enqueues the finaliser
 * again once the cause is fixed, and `run` exits 1 with the reason; run again, it finishes from
 * its output without rewriting a part.
 */

const redis = useRedis();
const dir = useTempDir('reliability-finalize-failure-');
let workers: ServerProcess[] = [];

setUp(async () => {
  await stagePhotoCopies(join(dir.path, 'input'), 4);
});

teardown(async () => {
  if (workers.length > 0) await stopWorkers(workers);
});

/** A non-empty folder where the manifest must go: the write fails however often it is tried. */
async function blockManifest(runDir: string): Promise<string> {
  const blocker = join(runDir, '_manifest.json');
  await mkdir(join(blocker, 'in-the-way'), { recursive: true });
  return blocker;
}

describe('a finaliser that cannot write the manifest, with workers on a shared Redis', () => {
  let env: Record<string, string>;
  let run: string;
  let statusText: string;
  let waitedWhileFailed: Awaited<ReturnType<typeof runCli>>;
  let retried: Awaited<ReturnType<typeof runCli>>;

  before(async () => {
    env = reliabilityEnv(redis.url, uniqueName('final'));
    ({ run } = await submit(join(dir.path, 'input'), join(dir.path, 'out'), { shardSize: 4 }, env));
    const blocker = await blockManifest(join(dir.path, 'out', run));
    workers = [await startOnnxWorker(env)];
    const client = new Redis(redis.url);
    try {
      const registry = new RunRegistry(client, env.QUEUE_PREFIX ?? '');
      await waitFor(
        'the finaliser fails for good',
        async () => (await registry.get(run))?.finalizeError != null,
        120_000,
      );
    } finally {
      client.disconnect();
    }
    statusText = (await runCli(['status', run], env)).stdout;
    waitedWhileFailed = await runCli(['status', run, '--wait', '--json'], env);
    await rm(blocker, { recursive: true });
    retried = await runCli(['retry', run], env);
    await waitForRunDone(redis.url, env.QUEUE_PREFIX ?? '', run, 120_000);
  });

  after(async () => {
    await stopWorkers(workers);
    workers = [];
  });

  test('status says finalising failed, with the reason and the fix, while the run is unfinished', () => {
    assert.match(statusText, /\(running\)/);
    assert.match(statusText, /finalising failed: .*_manifest\.json.*; fix the cause, then resnet-batch retry/);
  });

  test('status --wait ends at once with exit 2 and the reason while finalising has failed', () => {
    assert.equal(waitedWhileFailed.code, 2, waitedWhileFailed.stderr);
    assert.match(JSON.parse(waitedWhileFailed.stdout).finalize_error, /_manifest\.json/);
  });

  test('retry enqueues the finaliser again, and the run finishes with its manifest and no failed job left', async () => {
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stderr, /the finaliser enqueued again/);
    assert.ok((await stat(join(dir.path, 'out', run, '_manifest.json'))).isFile());
    const status = await statusJson(run, env);
    assert.equal(status.state, 'done');
    assert.equal(status.queue.failed, 0, 'the finaliser that failed for good was replaced, not left behind');
    assert.equal((await runCli(['status', run, '--wait'], env)).code, 0);
  });
});

describe('a finaliser that cannot write the manifest under `run` (its own Redis)', () => {
  const runEnv = {
    REDIS_URL: undefined,
    LOG_LEVEL: 'warn',
    METRICS_PORT: '0',
    QUEUE_PREFIX: 'resnet-batch',
    JOB_BACKOFF_MS: '100',
  };
  const runIt = () =>
    runCli(
      ['run', join(dir.path, 'input'), '--output', join(dir.path, 'run-out'), '--run', 'blocked', '--engine', 'onnx'],
      runEnv,
      240_000,
    );
  let first: Awaited<ReturnType<typeof runCli>>;
  let second: Awaited<ReturnType<typeof runCli>>;
  let partsBefore: Map<string, number>;
  let partsAfter: Map<string, number>;

  async function partTimes(): Promise<Map<string, number>> {
    const times = new Map<string, number>();
    for (const folder of ['embeddings', 'metadata', 'errors']) {
      for (const name of await readdir(join(dir.path, 'run-out', 'blocked', folder))) {
        times.set(`${folder}/${name}`, (await stat(join(dir.path, 'run-out', 'blocked', folder, name))).mtimeMs);
      }
    }
    return times;
  }

  before(async () => {
    const blocker = await blockManifest(join(dir.path, 'run-out', 'blocked'));
    first = await runIt();
    partsBefore = await partTimes();
    await rm(blocker, { recursive: true });
    second = await runIt();
    partsAfter = await partTimes();
  });

  test('run exits 1 with the reason instead of waiting for ever', () => {
    assert.equal(first.code, 1, first.stderr);
    assert.match(
      first.stderr,
      /FINALIZE_FAILED: every shard of run blocked is accounted for, but writing its manifest failed for good/,
    );
  });

  test('run again after the cause is fixed finishes from the output, without rewriting a part', async () => {
    assert.equal(second.code, 0, second.stderr);
    assert.ok((await stat(join(dir.path, 'run-out', 'blocked', '_manifest.json'))).isFile());
    assert.ok(partsBefore.size > 0);
    assert.deepEqual([...partsAfter], [...partsBefore]);
  });
});
