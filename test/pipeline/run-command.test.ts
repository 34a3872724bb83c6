import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse as parseNpy } from 'npyjs';
import type { RunManifest } from '../../shared/output/output-format.ts';
import { type CliResult, runCli } from '../harness/cli.ts';
import { FIXTURES_DIR } from '../harness/fixtures.ts';
import { setUp } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * `resnet-batch run`, the one-command local job, exactly as the README's quick start runs it:
 * no REDIS_URL (it starts and stops its own redis-server), the fixture folder in, a local folder
 * out, one worker.
 */

const dir = useTempDir('pipeline-run-');
let result: CliResult;

setUp(async () => {
  result = await runCli(
    ['run', FIXTURES_DIR, '--output', join(dir.path, 'out'), '--workers', '1', '--engine', 'tfjs-wasm', '--normalize'],
    {
      REDIS_URL: undefined,
      QUEUE_PREFIX: uniqueName('run'),
      LOG_LEVEL: 'warn',
      // The default metrics port may be taken by anything else on the machine.
      METRICS_PORT: '0',
    },
    240_000,
  );
});

describe('resnet-batch run without REDIS_URL', () => {
  test('exits 2 (two fixtures have error rows) and prints the run id alone on stdout', () => {
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stdout, /^[A-Za-z0-9][A-Za-z0-9._-]*\n$/);
  });

  test('prints a summary with the ok and error counts and where the output is', () => {
    const run = result.stdout.trim();
    assert.match(result.stderr, /done: 9 ok, 2 error, 1 skipped in [\d.]+ s \([\d.]+ img\/s\)/);
    assert.ok(
      result.stderr.includes(`output: ${join(dir.path, 'out')}`) ||
        result.stderr.includes(`output: file://${join(dir.path, 'out')}`),
      result.stderr,
    );
    assert.ok(result.stderr.includes(`/${run}/`), result.stderr);
  });

  test('writes the manifest with every fixture image accounted for', async () => {
    const run = result.stdout.trim();
    const manifest = JSON.parse(await readFile(join(dir.path, 'out', run, '_manifest.json'), 'utf8')) as RunManifest;
    assert.equal(manifest.run, run);
    assert.deepEqual(manifest.images, { total: 11, ok: 9, error: 2, skipped: 1 });
    assert.deepEqual(manifest.shards, { total: 1, done: 1, failed: 0 });
  });

  test('--normalize writes unit-length vectors and says so in the manifest', async () => {
    const run = result.stdout.trim();
    const manifest = JSON.parse(await readFile(join(dir.path, 'out', run, '_manifest.json'), 'utf8')) as RunManifest;
    assert.deepEqual(manifest.embeddings, { dim: 2048, dtype: 'float32', normalization: 'l2' });
    const bytes = await readFile(join(dir.path, 'out', run, 'embeddings', 'part-00000.npy'));
    const npy = parseNpy(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    assert.deepEqual(npy.shape, [9, 2048]);
    const vectors = npy.data as Float32Array;
    for (let row = 0; row < 9; row += 1) {
      let sum = 0;
      for (const value of vectors.subarray(row * 2048, (row + 1) * 2048)) sum += value * value;
      assert.ok(Math.abs(Math.sqrt(sum) - 1) < 1e-5, `row ${row} has norm ${Math.sqrt(sum)}`);
    }
  });
});
