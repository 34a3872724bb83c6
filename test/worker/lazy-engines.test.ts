// TensorFlow.js is loaded only for a tfjs engine (issue 12): the ONNX engine opens without it, so
// its ~1 s of loading and its "Hi, looks like you are running TensorFlow.js" banner are gone there.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const openEngine = new URL('../../worker/engines/open-engine.ts', import.meta.url).href;
const cli = fileURLToPath(new URL('../../bin/resnet-batch.js', import.meta.url));
const chelsea = fileURLToPath(new URL('../fixtures/images/chelsea.png', import.meta.url));

/** Opens `choice` (at `precision`) in a fresh process; returns the @tensorflow packages it loaded. */
function tensorflowModulesLoadedBy(choice: string, precision = 'fp32'): string[] {
  const script = `
    import { createRequire } from 'node:module';
    const { openEngine } = await import(${JSON.stringify(openEngine)});
    const { engine } = await openEngine({ choice: ${JSON.stringify(choice)}, modelRef: { kind: 'packaged' }, precision: ${JSON.stringify(precision)} });
    await engine.dispose();
    // tfjs is CommonJS: whatever of it was imported, from ESM too, sits in the CJS module cache.
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((path) => path.includes('/@tensorflow/'));
    console.log(JSON.stringify([...new Set(loaded.map((path) => path.split('/node_modules/').pop().split('/').slice(0, 2).join('/')))]));
  `;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout.trim().split('\n').pop() ?? '[]') as string[];
}

describe('engines load their runtime only once chosen', () => {
  test('the onnx engine opens without loading any @tensorflow package', () => {
    assert.deepEqual(tensorflowModulesLoadedBy('onnx'), []);
  });

  test('the onnx engine at int8 opens without loading any @tensorflow package (issue 13: its graph is built from the fp32 ONNX graph)', () => {
    assert.deepEqual(tensorflowModulesLoadedBy('onnx', 'int8'), []);
  });

  test('the tfjs-wasm engine does load TensorFlow.js (the check above can see it)', () => {
    assert.ok(tensorflowModulesLoadedBy('tfjs-wasm').includes('@tensorflow/tfjs'));
  });

  test('classify on the onnx engine prints results on stdout and no TensorFlow.js banner anywhere', () => {
    const result = spawnSync(process.execPath, [cli, 'classify', '--engine', 'onnx', '--top', '1', chelsea], {
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `${chelsea}\n${result.stdout.split('\n')[1]}\n`);
    assert.match(result.stdout, /Egyptian_cat/);
    assert.doesNotMatch(`${result.stdout}${result.stderr}`, /TensorFlow\.js|={10}/);
  });
});
