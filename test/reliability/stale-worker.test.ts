import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { RunManifest } from '../../shared/output/output-format.ts';
import { shardJobId } from '../../shared/queue/job-payload.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { startOnnxWorker, stopWorkers, submit } from '../harness/cli.ts';
import { fixturePath, stagePhotoCopies } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { waitFor, waitForActiveShard, waitForRunDone } from '../harness/run-state.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { reliabilityEnv } from './reliability-harness.ts';

/**
 * A worker that lost its lock keeps going (a long GC pause, a stopped container, a VM migration;
 * SIGSTOP reproduces it). Worker A is frozen mid-shard past SHARD_LOCK_MS (3 s); worker B takes
 * the shard over and the run finishes; an input is then broken (so A's result would differ: an
 * error row where B wrote an ok one); A is thawed. A must notice it lost the shard and write
 * nothing: every object of the run stays byte for byte what B committed, and the manifest still
 * says what the parts hold. Before fencing, A rewrote part-00000.npy and .parquet after the
 * manifest.
 */

const IMAGES = 60;
const redis = useRedis();
const dir = useTempDir('reliability-stale-');
let runDir: string;
const workers: ServerProcess[] = [];
let frozen: ServerProcess;
let before_: Map<string, string>;
let after_: Map<string, string>;

const PARTS = [
  'embeddings/part-00000.npy',
  'metadata/part-00000.parquet',
  'errors/part-00000.parquet',
  '_manifest.json',
];

async function digests(): Promise<Map<string, string>> {
  const entries = await Promise.all(
    PARTS.map(
      async (part) =>
        [
          part,
          createHash('sha256')
            .update(await readFile(join(runDir, part)))
            .digest('hex'),
        ] as const,
    ),
  );
  return new Map(entries);
}

setUp(async () => {
  const names = await stagePhotoCopies(join(dir.path, 'input'), IMAGES);
  const prefix = uniqueName('stale');
  const env = reliabilityEnv(redis.url, prefix);
  const { run } = await submit(join(dir.path, 'input'), join(dir.path, 'out'), { shardSize: IMAGES }, env);
  runDir = join(dir.path, 'out', run);

  frozen = await startOnnxWorker(env);
  workers.push(frozen);
  await waitForActiveShard(redis.url, prefix, shardJobId(run, 0));
  frozen.child.kill('SIGSTOP');
  workers.push(await startOnnxWorker(env));
  await waitForRunDone(redis.url, prefix, run, 150_000);
  before_ = await digests();

  // A result of A's would now differ from B's committed one: this input reads as broken.
  await copyFile(fixturePath('truncated.jpg'), join(dir.path, 'input', names[IMAGES - 1]!));
  frozen.child.kill('SIGCONT');
  await waitFor(
    'the thawed worker gives the shard up',
    () => /shard abandoned: the lock was lost/.test(frozen.output()),
    120_000,
  );
  after_ = await digests();
});

teardown(async () => {
  frozen?.child.kill('SIGCONT');
  if (workers.length > 0) await stopWorkers(workers);
});

describe('a worker frozen mid-shard past its lock, thawed after another worker finished the run', () => {
  test('notices it lost the shard and abandons it', () => {
    assert.match(frozen.output(), /could not renew the lock of a shard|LOCK_LOST/);
  });

  test('writes nothing: every part and the manifest stay byte for byte what the new owner committed', () => {
    assert.deepEqual([...after_], [...before_]);
  });

  test('the manifest still says what the parts hold', async () => {
    const manifest = JSON.parse(await readFile(join(runDir, '_manifest.json'), 'utf8')) as RunManifest;
    assert.deepEqual(manifest.images, { total: IMAGES, ok: IMAGES, error: 0, skipped: 0 });
  });
});
