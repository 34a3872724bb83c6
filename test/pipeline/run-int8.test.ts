// `resnet-batch run --precision int8` over the fixture folder, as a user runs it: no REDIS_URL (the
// embedded redis-server), one worker, a local output folder. The run's precision reaches the
// worker, the rows and the manifest.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openStore } from '../../shared/storage/open-store.ts';
import { type CliResult, runCli } from '../harness/cli.ts';
import { FIXTURES_DIR } from '../harness/fixtures.ts';
import { type RunOutput, readRunOutput } from '../harness/run-output.ts';
import { setUp } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

const dir = useTempDir('pipeline-run-int8-');
let result: CliResult;
let output: RunOutput;

setUp(async () => {
  result = await runCli(
    ['run', FIXTURES_DIR, '--output', join(dir.path, 'out'), '--precision', 'int8'],
    {
      REDIS_URL: undefined,
      QUEUE_PREFIX: uniqueName('run-int8'),
      ENGINE: undefined,
      PRECISION: undefined,
      LOG_LEVEL: 'warn',
      METRICS_PORT: '0',
    },
    300_000,
  );
  if (result.code === 2) {
    const store = openStore(join(dir.path, 'out'));
    try {
      output = await readRunOutput(store, join(dir.path, 'out'), result.stdout.trim());
    } finally {
      await store.close();
    }
  }
});

describe('resnet-batch run --precision int8', () => {
  test('exits 2 (two fixtures have error rows) with every fixture image accounted for', () => {
    assert.equal(result.code, 2, result.stderr);
    assert.deepEqual(output.manifest.images, { total: 11, ok: 9, error: 2, skipped: 1 });
  });

  test('the manifest says int8, with the int8 model id, run on the ONNX CPU engine', () => {
    assert.equal(output.manifest.precision, 'int8');
    assert.match(output.manifest.model.id, /\/int8-[0-9a-f]{12}$/);
    assert.deepEqual(output.manifest.engines, ['onnx-cpu']);
  });

  test("every metadata row names the int8 model, and the ok rows' embeddings are there", () => {
    const rows = output.parts.flatMap((part) => part.rows);
    assert.equal(rows.length, 11);
    // Output format 2: the rows with a model column are the metadata rows (ok); errors/ rows have none.
    const metadata = rows.filter((row) => row.status === 'ok');
    assert.equal(metadata.length, 9);
    assert.ok(metadata.every((row) => row.model === output.manifest.model.id));
    assert.deepEqual(output.parts[0]?.npyShape, [9, 2048]);
    const chelsea = rows.find((row) => row.uri.endsWith('/chelsea.png'));
    assert.equal(chelsea?.top_labels?.[0], 'Egyptian_cat');
  });
});
