// The ONNX Runtime engine (CPU provider) with the real ResNet-50: engine choice, agreement with
// the tfjs-wasm engine on every fixture image that decodes, the graph cache, and the contract
// suite. The onnx engine is opened once (the default model cache; the graph is generated there on
// first use) and shared, and the contract suite runs last because it disposes it. The tfjs-wasm
// reference runs the fixtures in one batch (~3 img/s).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { before, describe, test } from 'node:test';
import { resolveModelLocation } from '../../model/model-location.ts';
import { loadOnnxResNet } from '../../model/onnx/load-onnx-resnet.ts';
import { resnet50 } from '../../model/spec.ts';
import { EngineUnavailableError, ImageError } from '../../shared/errors.ts';
import type { BatchOutput } from '../../shared/inference/engine.ts';
import { PACKAGED_MODEL } from '../../shared/inference/model-ref.ts';
import { decodeImage } from '../../worker/decode-image.ts';
import { onnxCudaProviderInstalled } from '../../worker/engines/onnx-engine.ts';
import { type LoadedModelInfo, openEngine, pickEngine } from '../../worker/engines/open-engine.ts';
import { rankLabels } from '../../worker/rank-labels.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { engineContract, type OpenedEngine } from './engine-contract.ts';

const FIXTURES = new URL('../fixtures/images/', import.meta.url);
const gpuVisible = existsSync('/dev/nvidia0') || existsSync('/dev/nvidiactl');
/**
 * Issue 5's bar: embeddings within 1e-3 relative, measured per image as max |onnx - tfjs| over the
 * image's largest tfjs value (post-ReLU averages: a per-element ratio would divide by near-zeros).
 */
const EMBEDDING_TOLERANCE = 1e-3;

let opening: Promise<{ opened: OpenedEngine; model: LoadedModelInfo }> | undefined;
function openShared() {
  opening ??= openEngine({ choice: 'onnx', modelRef: PACKAGED_MODEL }).then(({ engine, model }) => ({
    opened: { engine, labels: model.labels },
    model,
  }));
  return opening;
}

/** Every fixture that decodes, in one batch; truncated.jpg and multipage_rgb.tif are refused by the decoder. */
async function decodableFixtures(): Promise<{ names: string[]; pixels: Float32Array }> {
  const names: string[] = [];
  const images: Float32Array[] = [];
  for (const name of (await readdir(FIXTURES)).filter((file) => !file.endsWith('.md')).sort()) {
    try {
      images.push((await decodeImage(await readFile(new URL(name, FIXTURES)))).pixels);
      names.push(name);
    } catch (error) {
      if (!(error instanceof ImageError)) throw error;
    }
  }
  const size = images[0]?.length ?? 0;
  const pixels = new Float32Array(images.length * size);
  images.forEach((image, index) => {
    pixels.set(image, index * size);
  });
  return { names, pixels };
}

function rowDifference(a: Float32Array, b: Float32Array, row: number, width: number): number {
  let worst = 0;
  let scale = 0;
  for (let i = row * width; i < (row + 1) * width; i += 1) {
    worst = Math.max(worst, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
    scale = Math.max(scale, Math.abs(b[i] ?? 0));
  }
  return worst / scale;
}

describe('engine selection with onnxruntime-node installed', () => {
  test('auto picks onnx-cpu, with its reason, on a host without a GPU', {
    skip: gpuVisible && 'a GPU is visible here',
  }, () => {
    const picked = pickEngine();
    assert.equal(picked.flavour, 'onnx-cpu');
    assert.match(picked.reason, /onnxruntime-node/);
  });

  test('asking for onnx-cuda without the CUDA provider fails with EngineUnavailableError giving the install command', {
    skip: onnxCudaProviderInstalled() && 'the CUDA provider is installed here',
  }, async () => {
    await assert.rejects(openEngine({ choice: 'onnx-cuda', modelRef: PACKAGED_MODEL }), (error: unknown) => {
      assert.ok(error instanceof EngineUnavailableError, `expected EngineUnavailableError, got ${String(error)}`);
      assert.match(error.message, /script\/install\.js --onnxruntime-node-install=cuda12/);
      return true;
    });
  });

  test("--engine onnx opens an engine named 'onnx-cpu' with the model id, weights digest and labels of the tfjs engine", async () => {
    const { opened, model } = await openShared();
    assert.equal(opened.engine.name, 'onnx-cpu');
    const tfjs = await openEngine({ choice: 'tfjs-wasm', modelRef: PACKAGED_MODEL });
    await tfjs.engine.dispose();
    assert.deepEqual(model, tfjs.model);
  });
});

describe('agreement with the tfjs-wasm engine', () => {
  let names: string[];
  let onnx: BatchOutput;
  let tfjs: BatchOutput;
  let labels: readonly string[];

  before(async () => {
    const fixtures = await decodableFixtures();
    names = fixtures.names;
    const { opened } = await openShared();
    labels = opened.labels;
    onnx = await opened.engine.infer(fixtures.pixels, names.length);
    const reference = await openEngine({ choice: 'tfjs-wasm', modelRef: PACKAGED_MODEL });
    tfjs = await reference.engine.infer(fixtures.pixels, names.length);
    await reference.engine.dispose();
  });

  test('nine fixture images decode and are compared', () => {
    assert.equal(names.length, 9);
  });

  test('every image gets the same embedding within 1e-3 of its largest value', () => {
    const differences = names.map(
      (name, row) => [name, rowDifference(onnx.embeddings, tfjs.embeddings, row, 2048)] as const,
    );
    const over = differences.filter(([, difference]) => !(difference < EMBEDDING_TOLERANCE));
    assert.deepEqual(
      over,
      [],
      `relative differences: ${differences.map(([name, d]) => `${name} ${d.toExponential(2)}`).join(', ')}`,
    );
  });

  test('every image gets the same top-1 label', () => {
    const top1 = (output: BatchOutput) =>
      names.map((_, row) => rankLabels(output.probabilities, row, 1000, labels, 1)[0]?.label);
    assert.deepEqual(top1(onnx), top1(tfjs));
  });
});

describe('the ONNX graph cache', () => {
  const root = useTempDir('onnx-cache-');
  const read = resolveModelLocation(undefined).read;

  test('the second load reuses the cached graph without rewriting it', async () => {
    const first = await loadOnnxResNet(resnet50, read, { cacheRoot: root.path });
    const written = (await stat(first.modelPath)).mtimeMs;
    const second = await loadOnnxResNet(resnet50, read, { cacheRoot: root.path });
    assert.deepEqual([first.generated, second.generated], [true, false]);
    assert.equal(second.modelPath, first.modelPath);
    assert.equal(second.onnxSha256, first.onnxSha256);
    assert.equal((await stat(second.modelPath)).mtimeMs, written);
    assert.match(first.modelPath, new RegExp(`onnx/${first.weightsSha256}-resnet50-v\\d+\\.onnx$`));
  });

  test('a cached graph that no longer matches its digest is regenerated', async () => {
    const first = await loadOnnxResNet(resnet50, read, { cacheRoot: root.path });
    await writeFile(first.modelPath, (await readFile(first.modelPath)).subarray(0, 1000));
    const again = await loadOnnxResNet(resnet50, read, { cacheRoot: root.path });
    assert.equal(again.generated, true);
    assert.equal(again.onnxSha256, first.onnxSha256);
  });
});

engineContract('onnx-cpu', async () => (await openShared()).opened);
