// The int8 graph (model/onnx/): the exact percentile, the weight and bias arithmetic on hand-computed
// numbers, and the real ResNet-50 int8 graph as ONNX Runtime optimizes it: every convolution and
// every residual Add fused into their int8 kernels. ORT loads and runs a graph whose QDQ patterns
// it did not fuse (half of it then runs in fp32), so fusion is counted, not assumed: an ORT
// upgrade that stops fusing fails here. The first test in a fresh cache builds the int8 graph
// from the default calibration set (20-30 s on 2 cores); later tests and files reuse it.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { ARTIFACT_MODEL_ID } from '../../model/artifact.ts';
import { resolveModelLocation } from '../../model/model-location.ts';
import { PercentileOfAbs } from '../../model/onnx/activation-ranges.ts';
import { type LoadedInt8ResNet, loadInt8ResNet } from '../../model/onnx/load-int8-resnet.ts';
import { loadOnnxResNet } from '../../model/onnx/load-onnx-resnet.ts';
import { quantizationPoints } from '../../model/onnx/quantize-graph.ts';
import { biasForInputMean, quantizeBias, quantizePerChannel } from '../../model/onnx/quantize-weights.ts';
import { resnet50 } from '../../model/spec.ts';
import { decodeImage } from '../../worker/decode-image.ts';
import { useTempDir } from '../harness/temp-dir.ts';

const { onnx } = onnxProto;

describe('PercentileOfAbs', () => {
  test('the 90th percentile of 1..10 is 9, and of their negatives too', () => {
    const positive = new PercentileOfAbs(10, 90);
    positive.add(Float32Array.from([3, 1, 4, 10, 5, 9, 2, 6, 8, 7]));
    assert.equal(positive.value(), 9);
    const negative = new PercentileOfAbs(10, 90);
    negative.add(Float32Array.from([-3, -1, -4, -10, -5, -9, -2, -6, -8, -7]));
    assert.equal(negative.value(), 9);
  });

  test('values given in several chunks give the percentile of sorting them all', () => {
    const values = Float32Array.from({ length: 100_000 }, (_, i) => ((i * 7919) % 100_000) - 50_000);
    const tracker = new PercentileOfAbs(values.length, 99.9);
    for (let from = 0; from < values.length; from += 30_000) tracker.add(values.subarray(from, from + 30_000));
    const sorted = values.map(Math.abs).sort();
    assert.equal(tracker.value(), sorted[Math.ceil(0.999 * values.length) - 1]);
  });

  test('one side only: the positive tail ignores negatives, and a side with no values falls back to its maximum, 0', () => {
    const positive = new PercentileOfAbs(4, 50);
    positive.add(Float32Array.from([-100, 1, 2, 3]), 'positive'); // the positive side: 0, 1, 2, 3
    assert.equal(positive.value(), 1);
    const negative = new PercentileOfAbs(3, 99);
    negative.add(Float32Array.from([1, 2, 3]), 'negative');
    assert.equal(negative.value(), 0);
  });

  test('asking before every value was given is refused rather than answered wrong', () => {
    const tracker = new PercentileOfAbs(10, 90);
    tracker.add(Float32Array.from([1, 2]));
    assert.throws(() => tracker.value(), RangeError);
  });
});

describe('int8 weights and biases', () => {
  test('weights are symmetric per output channel: max|w| maps to 127, an all-zero channel keeps scale 1', () => {
    const { values, scales } = quantizePerChannel({ shape: [2, 1, 1, 2], values: Float32Array.from([0.5, -1, 0, 0]) });
    assert.deepEqual([...values], [64, -127, 0, 0]); // 0.5 / (1 / 127) = 63.5, rounded half up
    assert.deepEqual([...scales], [Math.fround(1 / 127), 1]);
  });

  test('biases are int32 in units of input scale x weight scale', () => {
    const { values, scales } = quantizeBias(Float32Array.from([1, -0.5]), 0.5, Float32Array.from([0.01, 0.02]));
    assert.deepEqual([...scales], [Math.fround(0.005), Math.fround(0.01)]);
    assert.deepEqual([...values], [200, -50]);
  });

  test('a conv that sees x + mean instead of x gets b - sum(W * mean) as its bias', () => {
    // One output channel, two input channels, 1x2 kernel: W = [[1, 2], [3, 4]], means [10, 100].
    const bias = biasForInputMean(
      { shape: [1, 2, 1, 2], values: Float32Array.from([1, 2, 3, 4]) },
      Float32Array.of(5),
      [10, 100],
    );
    assert.deepEqual([...bias], [5 - (3 * 10 + 7 * 100)]);
  });
});

describe('the int8 ResNet-50 graph', () => {
  let loaded: LoadedInt8ResNet;
  const dir = useTempDir('model-int8-');

  before(async () => {
    loaded = await loadInt8ResNet(resnet50, resolveModelLocation(undefined).read, {
      decode: async (bytes) => (await decodeImage(bytes)).pixels,
    });
  });

  test('calibrates 69 activation tensors: 49 ReLU outputs, 20 block branches before their Add, never the image', async () => {
    const fp32 = await loadOnnxResNet(resnet50, resolveModelLocation(undefined).read);
    const points = quantizationPoints(await readFile(fp32.modelPath));
    assert.equal(points.filter((point) => !point.signed).length, 49);
    assert.equal(points.filter((point) => point.signed).length, 20);
    assert.ok(points.every((point) => !point.tensor.startsWith('input')));
  });

  test('ONNX Runtime fuses all 53 convolutions into QLinearConv and all 16 residual Adds into QLinearAdd', async () => {
    const optimized = join(dir.path, 'optimized.onnx');
    const session = await ort.InferenceSession.create(loaded.modelPath, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      optimizedModelFilePath: optimized,
    });
    await session.release();
    const counts = new Map<string, number>();
    for (const node of onnx.ModelProto.decode(await readFile(optimized)).graph?.node ?? [])
      counts.set(node.opType ?? '', (counts.get(node.opType ?? '') ?? 0) + 1);
    assert.equal(counts.get('QLinearConv'), 53, JSON.stringify(Object.fromEntries(counts)));
    assert.equal(counts.get('QLinearAdd'), 16, JSON.stringify(Object.fromEntries(counts)));
    for (const fp32Op of ['Conv', 'FusedConv', 'Relu'])
      assert.equal(counts.get(fp32Op) ?? 0, 0, `${fp32Op} left in fp32: ${JSON.stringify(Object.fromEntries(counts))}`);
    // The one float Add puts the ImageNet means back on the input, before its exact quantization.
    assert.equal(counts.get('Add'), 1, JSON.stringify(Object.fromEntries(counts)));
  });

  test('its model id is the fp32 id plus /int8- and 12 hex digits of what it was made from', () => {
    assert.match(loaded.modelId, new RegExp(`^${ARTIFACT_MODEL_ID.replace(/[.@]/g, '\\$&')}/int8-[0-9a-f]{12}$`));
    assert.equal(loaded.modelId.slice(-12), loaded.int8Digest.slice(0, 12));
  });

  test('its embedding and probabilities are float32, and the probabilities of an image sum to 1', async () => {
    const session = await ort.InferenceSession.create(loaded.modelPath);
    const pixels = (await decodeImage(await readFile(new URL('../fixtures/images/coffee.png', import.meta.url))))
      .pixels;
    const outputs = await session.run({ input: new ort.Tensor('float32', pixels, [1, 224, 224, 3]) });
    await session.release();
    assert.equal(outputs.embedding?.type, 'float32');
    assert.deepEqual(outputs.embedding?.dims, [1, 2048]);
    const probabilities = outputs.probabilities!.data as Float32Array;
    const sum = probabilities.reduce((total, value) => total + value, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `sum ${sum}`);
  });
});
