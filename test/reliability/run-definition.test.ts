import assert from 'node:assert/strict';
import { copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../../shared/storage/open-store.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { runCli, startOnnxWorker, stopWorkers, submit } from '../harness/cli.ts';
import { fixturePath, stagePhotoCopies } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { assertOneRowPerInput, readRunOutput } from '../harness/run-output.ts';
import { shardQueue, waitForRunDone } from '../harness/run-state.ts';
import { teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { reliabilityEnv, statusJson } from './reliability-harness.ts';

/**
 * A run id names one input, output and settings for good (its definition, `<run>/_run.json` and
 * Redis), and what each shard holds (a digest per shard):
 *   - resubmitting after a file was added to the folder moved every shard boundary; the deterministic
 *     job ids would then name other images (one image twice, the new one never): it is refused;
 *   - `run` twice with one --run id and output but two folders, one after the other and at the
 *     same time: each `run` has a fresh private Redis, so only the output can tell; the second (or
 *     the loser) is refused, and the output holds exactly one input's rows.
 */

const redis = useRedis();
const dir = useTempDir('reliability-definition-');
let workers: ServerProcess[] = [];

teardown(async () => {
  if (workers.length > 0) await stopWorkers(workers);
});

describe('resubmitting a run after a file was added to its input folder', () => {
  let names: string[];
  let env: Record<string, string>;
  let run: string;
  let resubmitted: Awaited<ReturnType<typeof runCli>>;

  before(async () => {
    names = await stagePhotoCopies(join(dir.path, 'grow'), 7);
    env = reliabilityEnv(redis.url, uniqueName('grow'));
    ({ run } = await submit(join(dir.path, 'grow'), join(dir.path, 'grow-out'), { shardSize: 2 }, env));
    workers = [await startOnnxWorker(env)];
    await waitForRunDone(redis.url, env.QUEUE_PREFIX ?? '', run);
    // A name that sorts first: with shards by listing position, every boundary moves.
    await copyFile(fixturePath('rocket.jpg'), join(dir.path, 'grow', 'aaa-new.jpg'));
    resubmitted = await runCli(
      ['submit', join(dir.path, 'grow'), '--output', join(dir.path, 'grow-out'), '--run', run, '--shard-size', '2'],
      env,
    );
  });

  after(async () => {
    await stopWorkers(workers);
    workers = [];
  });

  test('is refused, saying the input changed and how to process the new file', () => {
    assert.equal(resubmitted.code, 1, resubmitted.stderr);
    assert.match(
      resubmitted.stderr,
      /the input of run \S+ changed since the run was defined: shard 0 of this listing holds other images/,
    );
    assert.match(resubmitted.stderr, /--since/);
  });

  test('enqueues nothing, and the run stays done with one row per original input', async () => {
    const { queue, close } = shardQueue(redis.url, env.QUEUE_PREFIX ?? '');
    try {
      assert.equal(await queue.getWaitingCount(), 0);
    } finally {
      await close();
    }
    assert.equal((await statusJson(run, env)).state, 'done');
    const store = openStore(join(dir.path, 'grow-out'));
    assertOneRowPerInput(await readRunOutput(store, join(dir.path, 'grow-out'), run), names);
  });
});

describe('`run` twice with one --run id and output but two input folders', () => {
  const runEnv = { REDIS_URL: undefined, LOG_LEVEL: 'warn', METRICS_PORT: '0', QUEUE_PREFIX: 'resnet-batch' };
  const runOf = (input: string, out: string, id: string) =>
    runCli(['run', input, '--output', out, '--run', id, '--engine', 'onnx', '--shard-size', '2'], runEnv, 240_000);
  let first: string[];
  let second: string[];

  before(async () => {
    first = await stagePhotoCopies(join(dir.path, 'first'), 4, 'first');
    second = await stagePhotoCopies(join(dir.path, 'second'), 3, 'second');
  });

  test('one after the other: the second is refused naming the input, and the output holds only the first run', async () => {
    const out = join(dir.path, 'sequential');
    const a = await runOf(join(dir.path, 'first'), out, 'same-id');
    assert.equal(a.code, 0, a.stderr);
    const b = await runOf(join(dir.path, 'second'), out, 'same-id');
    assert.equal(b.code, 1, b.stderr);
    assert.match(
      b.stderr,
      /run same-id is already defined in its output \(_run\.json\), and this submit differs in the input/,
    );
    const output = await readRunOutput(openStore(out), out, 'same-id');
    assertOneRowPerInput(output, first);
    assert.deepEqual(output.manifest.images, { total: 4, ok: 4, error: 0, skipped: 0 });
  });

  test('at the same time: one wins, the other is refused, and the output holds exactly the winner’s rows', async () => {
    const out = join(dir.path, 'concurrent');
    const [a, b] = await Promise.all([
      runOf(join(dir.path, 'first'), out, 'race-id'),
      runOf(join(dir.path, 'second'), out, 'race-id'),
    ]);
    assert.deepEqual([a.code, b.code].sort(), [0, 1], `${a.stderr}\n---\n${b.stderr}`);
    const winner = a.code === 0 ? first : second;
    const output = await readRunOutput(openStore(out), out, 'race-id');
    assertOneRowPerInput(output, winner);
    assert.equal(output.manifest.images.total, winner.length);
    assert.deepEqual((await readdir(join(out, 'race-id', 'metadata'))).length, Math.ceil(winner.length / 2));
  });
});
