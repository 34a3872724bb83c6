// The TensorFlow.js engine on this host's backend (tfjs-wasm: no libtensorflow package installs
// here), with the real ResNet-50 from the model cache. The model is loaded once (~5-8 s) and
// shared: the tensor-leak test runs first, then the contract suite, whose last test disposes it.
// 100 single-image batches take ~35 s on wasm with 2 cores.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { EngineUnavailableError } from '../../shared/errors.ts';
import { PACKAGED_MODEL } from '../../shared/inference/model-ref.ts';
import { decodeImage } from '../../worker/decode-image.ts';
import { openEngine, pickEngine } from '../../worker/engines/open-engine.ts';
import { activateTfjsBackend } from '../../worker/engines/tfjs-engine.ts';
import { engineContract, type OpenedEngine } from './engine-contract.ts';

const require = createRequire(import.meta.url);

function installed(packageName: string): boolean {
  try {
    require.resolve(packageName);
    return true;
  } catch {
    return false;
  }
}

const tfjsNodeInstalled = installed('@tensorflow/tfjs-node');
const tfjsNodeGpuInstalled = installed('@tensorflow/tfjs-node-gpu');

let opening: Promise<OpenedEngine> | undefined;
/** One model load for the whole file. */
function openShared(): Promise<OpenedEngine> {
  opening ??= openEngine({ choice: 'tfjs-wasm', modelRef: PACKAGED_MODEL }).then(({ engine, model }) => ({
    engine,
    labels: model.labels,
  }));
  return opening;
}

describe('engine selection', () => {
  test('auto picks tfjs-wasm, with its reason, on a host without a libtensorflow package or onnxruntime', {
    skip:
      (tfjsNodeInstalled || installed('onnxruntime-node')) &&
      'a faster engine is installed here (auto picks it; see onnx-engine.test.ts)',
  }, () => {
    const picked = pickEngine();
    assert.equal(picked.flavour, 'tfjs-wasm');
    assert.match(picked.reason, /wasm/);
  });

  test('asking for tfjs-node when it is not installed fails with EngineUnavailableError saying how to install it', {
    skip: tfjsNodeInstalled && '@tensorflow/tfjs-node is installed here',
  }, async () => {
    await assert.rejects(openEngine({ choice: 'tfjs-node', modelRef: PACKAGED_MODEL }), (error: unknown) => {
      assert.ok(error instanceof EngineUnavailableError, `expected EngineUnavailableError, got ${String(error)}`);
      assert.equal(error.code, 'ENGINE_UNAVAILABLE');
      assert.equal(error.retryable, false);
      assert.match(error.message, /npm install @tensorflow\/tfjs-node`/);
      return true;
    });
  });

  test('asking for tfjs-node-gpu when it is not installed names its package and the CUDA it needs', {
    skip: tfjsNodeGpuInstalled && '@tensorflow/tfjs-node-gpu is installed here',
  }, async () => {
    await assert.rejects(openEngine({ choice: 'tfjs-node-gpu', modelRef: PACKAGED_MODEL }), (error: unknown) => {
      assert.ok(error instanceof EngineUnavailableError);
      assert.match(error.message, /npm install @tensorflow\/tfjs-node-gpu/);
      assert.match(error.message, /CUDA/);
      return true;
    });
  });

  test('a second tfjs backend in the same process is refused, naming the active one', async () => {
    await openShared();
    await assert.rejects(activateTfjsBackend('tfjs-node'), (error: unknown) => {
      assert.ok(error instanceof EngineUnavailableError);
      assert.match(error.message, /tfjs-wasm is already active/);
      return true;
    });
    assert.equal(tf.getBackend(), 'wasm');
  });
});

describe('TfjsEngine memory', () => {
  test('tf.memory().numTensors is the same after 100 batches as after 1', async () => {
    const { engine } = await openShared();
    const { pixels } = await decodeImage(await readFile(new URL('../fixtures/images/chelsea.png', import.meta.url)));
    await engine.infer(pixels, 1);
    const afterOne = tf.memory().numTensors;
    for (let batch = 2; batch <= 100; batch += 1) await engine.infer(pixels, 1);
    assert.equal(tf.memory().numTensors, afterOne);
  });
});

engineContract('tfjs-wasm', openShared);
