import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { type CliResult, runCli } from '../harness/cli.ts';
import { stagePhotoCopies } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { assertNpyMatchesOkRows, assertOneRowPerInput, type RunOutput, readRunOutput } from '../harness/run-output.ts';
import { waitFor } from '../harness/run-state.ts';
import { setUp } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { reliabilityEnv } from './reliability-harness.ts';

/**
 * Redis (appendonly yes, fsync always) is SIGKILLed and restarted on the same port and data
 * directory while `resnet-batch run --engine onnx` (REDIS_URL pointing at it, one worker) is half
 * way through 100 photos in shards of 20. The command, its worker and the run record must all
 * come back: exit 0, one row per input.
 */

const IMAGES = 100;
const SHARD_SIZE = 20;
const redis = useRedis({ appendonly: true });
const dir = useTempDir('reliability-redis-restart-');
let names: string[];
let run: string;
let result: CliResult;
let doneBeforeRestart: number;
let restartMs: number;
let afterRestartMs: number;
let output: RunOutput;

setUp(async () => {
  names = await stagePhotoCopies(join(dir.path, 'input'), IMAGES);
  const prefix = uniqueName('restart');
  run = uniqueName('run');
  const out = join(dir.path, 'out');
  const running = runCli(
    [
      'run',
      join(dir.path, 'input'),
      '--output',
      out,
      '--run',
      run,
      '--workers',
      '1',
      '--shard-size',
      String(SHARD_SIZE),
      '--batch-size',
      '4',
      '--engine',
      'onnx',
    ],
    reliabilityEnv(redis.url, prefix),
    180_000,
  );

  const probe = new Redis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
  probe.on('error', () => undefined);
  const registry = new RunRegistry(probe, prefix);
  try {
    await waitFor('a shard done', async () => ((await registry.get(run))?.shards.done ?? 0) >= 1, 120_000);
    doneBeforeRestart = (await registry.get(run))?.shards.done ?? 0;
    const stopped = Date.now();
    await redis.kill('SIGKILL');
    await redis.restart();
    restartMs = Date.now() - stopped;
    const restarted = Date.now();
    result = await running;
    afterRestartMs = Date.now() - restarted;
  } finally {
    probe.disconnect();
  }
  output = await readRunOutput(openStore(out), out, run);
  process.stderr.write(
    `redis restart: ${doneBeforeRestart} shard(s) done before, down ${restartMs} ms, run finished ${afterRestartMs} ms after restart\n`,
  );
});

describe('Redis SIGKILLed and restarted while `resnet-batch run` is going', () => {
  test('was restarted after some shards and before the last one were done', () => {
    assert.ok(
      doneBeforeRestart >= 1 && doneBeforeRestart < IMAGES / SHARD_SIZE,
      `done before restart: ${doneBeforeRestart}`,
    );
  });

  test('the command and its worker reconnected, logged it, and the command exits 0', () => {
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /redis unreachable; reconnecting/);
    assert.match(result.stderr, new RegExp(`done: ${IMAGES} ok, 0 error, 0 skipped`));
  });

  test('every input has exactly one metadata row and the .npy rows match', () => {
    assertOneRowPerInput(output, names);
    assertNpyMatchesOkRows(output);
  });

  test('the manifest counts each image and shard once', () => {
    assert.deepEqual(output.manifest.images, { total: IMAGES, ok: IMAGES, error: 0, skipped: 0 });
    assert.deepEqual(output.manifest.shards, { total: IMAGES / SHARD_SIZE, done: IMAGES / SHARD_SIZE, failed: 0 });
  });
});
