// The import rules of .dependency-cruiser.cjs, proved on a scratch tree: the same config that
// `npm run lint` runs over the real source folders must refuse an import from producer/ into
// worker/, a cycle, and shared/ reaching up into a role, and accept the allowed direction.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { useTempDir } from '../harness/temp-dir.ts';

const config = fileURLToPath(new URL('../../.dependency-cruiser.cjs', import.meta.url));
const depcruise = fileURLToPath(
  new URL('../../node_modules/dependency-cruiser/bin/dependency-cruise.mjs', import.meta.url),
);
const root = useTempDir('resnet-batch-import-rules-');

/** Writes `files` (path -> source) into a fresh folder of the scratch tree and cruises it with the project's rules. */
async function cruise(name: string, files: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const tree = join(root.path, name);
  for (const [path, source] of Object.entries(files)) {
    await mkdir(dirname(join(tree, path)), { recursive: true });
    await writeFile(join(tree, path), source);
  }
  await writeFile(
    join(tree, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', allowImportingTsExtensions: true, noEmit: true } }),
  );
  const folders = [...new Set(Object.keys(files).map((path) => path.split('/')[0]!))];
  const result = spawnSync(process.execPath, [depcruise, '--config', config, ...folders], {
    cwd: tree,
    encoding: 'utf8',
  });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the import rules npm run lint enforces', () => {
  test('an import from producer/ into worker/ fails the lint, naming the rule', async () => {
    const result = await cruise('producer-to-worker', {
      'producer/submit.ts':
        "import { processShard } from '../worker/process-shard.ts';\nexport const x = processShard;\n",
      'worker/process-shard.ts': 'export const processShard = 1;\n',
    });
    assert.notEqual(result.code, 0, result.output);
    assert.match(result.output, /producer-submits-only: producer\/submit\.ts → worker\/process-shard\.ts/);
  });

  test('shared/ importing a role folder fails the lint', async () => {
    const result = await cruise('shared-up', {
      'shared/config.ts': "import { spec } from '../model/spec.ts';\nexport const x = spec;\n",
      'model/spec.ts': 'export const spec = 1;\n',
    });
    assert.notEqual(result.code, 0, result.output);
    assert.match(result.output, /shared-is-the-bottom/);
  });

  test('a circle of imports fails the lint', async () => {
    const result = await cruise('circle', {
      'shared/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
      'shared/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
    });
    assert.notEqual(result.code, 0, result.output);
    assert.match(result.output, /no-circular/);
  });

  test('the allowed direction passes: worker/ -> model/ -> shared/', async () => {
    const result = await cruise('allowed', {
      'worker/infer.ts': "import { spec } from '../model/spec.ts';\nexport const x = spec;\n",
      'model/spec.ts': "import { errors } from '../shared/errors.ts';\nexport const spec = errors;\n",
      'shared/errors.ts': 'export const errors = 1;\n',
    });
    assert.equal(result.code, 0, result.output);
  });
});
