// The ONNX graph generator (model/onnx/): BatchNorm folding on hand-computed numbers; the
// folded graph run by onnxruntime against the unfolded tfjs model of the same spec and random
// weights (small nets, tfjs cpu backend); and the real ResNet-50 graph's interface and size, from
// the weights the install fetched.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import onnxProto, { type onnx as OnnxSchema } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { buildResNet } from '../../model/build-resnet.ts';
import { readWeightsFile } from '../../model/load-weights.ts';
import { resolveModelLocation } from '../../model/model-location.ts';
import { buildOnnxResNet, type NamedWeights, ONNX_NAMES } from '../../model/onnx/build-onnx-resnet.ts';
import { foldBatchNorm } from '../../model/onnx/fold-batch-norm.ts';
import { plainWeights } from '../../model/onnx/load-onnx-resnet.ts';
import { defineResNet, type ResNetSpec, resnet50, resnetCifar } from '../../model/spec.ts';
import { ModelError } from '../../shared/errors.ts';

const { onnx } = onnxProto;

/** Folding reorders float32 roundings (w*s summed vs (sum w)*s): 1e-4 of the output's range is far above that noise and far below any wrong scale, layout or pad. */
const FOLD_TOLERANCE = 1e-4;

/** ImageNet stem (7x7/2, max-pool), bottleneck blocks with projection shortcuts and conv biases, at toy widths. */
const tinyBottleneck = defineResNet({
  name: 'tiny-bottleneck',
  block: 'bottleneck',
  stageBlocks: [2, 1],
  stageWidths: [4, 8],
  stemWidth: 8,
  inputSize: 64,
  classCount: 5,
});

const plain = (shape: number[], values: number[]) => ({ shape, values: Float32Array.from(values) });

/** A tfjs model of `spec` with random conv weights and biases and random BatchNorm statistics (the defaults, mean 0 and variance 1, would hide a wrong fold). */
function randomModel(spec: ResNetSpec, seed: number): tf.LayersModel {
  const model = buildResNet(spec);
  for (const layer of model.layers) {
    const values = layer.getWeights().map((weight, index) => {
      const name = layer.weights[index]?.originalName ?? '';
      if (/moving_variance|gamma/.test(name)) return tf.randomUniform(weight.shape, 0.5, 2, 'float32', seed++);
      if (/moving_mean|beta|bias/.test(name)) return tf.randomNormal(weight.shape, 0, 0.5, 'float32', seed++);
      return weight;
    });
    layer.setWeights(values);
  }
  return model;
}

function namedWeights(model: tf.LayersModel): NamedWeights {
  return plainWeights(Object.fromEntries(model.weights.map((weight) => [weight.originalName, weight.read()])));
}

function relativeDifference(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < actual.length; i += 1) {
    worst = Math.max(worst, Math.abs((actual[i] ?? NaN) - (expected[i] ?? NaN)));
    scale = Math.max(scale, Math.abs(expected[i] ?? 0));
  }
  return worst / scale;
}

describe('foldBatchNorm', () => {
  test('a 1x1 conv with a bias folds to w * gamma / sqrt(var + eps) and (b - mean) * scale + beta', () => {
    const folded = foldBatchNorm(
      { kernel: plain([1, 1, 2, 1], [2, 3]), bias: plain([1], [1]) },
      { gamma: plain([1], [4]), beta: plain([1], [0.5]), movingMean: plain([1], [3]), movingVariance: plain([1], [3]) },
      1,
    );
    assert.deepEqual([...folded.weight.values], [4, 6]);
    assert.deepEqual([...folded.bias.values], [-3.5]); // scale 4 / sqrt(3 + 1) = 2: w [4, 6], b (1 - 3) * 2 + 0.5
    assert.deepEqual(folded.weight.shape, [1, 2, 1, 1]);
  });

  test('the Keras kernel [kh, kw, in, out] comes out as [out, in, kh, kw], each output channel with its own scale', () => {
    // Keras order: (y0,o0)=1 (y0,o1)=2 (y1,o0)=3 (y1,o1)=4; scales 1 and 10, no conv bias.
    const folded = foldBatchNorm(
      { kernel: plain([2, 1, 1, 2], [1, 2, 3, 4]) },
      {
        gamma: plain([2], [1, 10]),
        beta: plain([2], [0, 0]),
        movingMean: plain([2], [1, 0]),
        movingVariance: plain([2], [1, 1]),
      },
      0,
    );
    assert.deepEqual(folded.weight.shape, [2, 1, 2, 1]);
    assert.deepEqual([...folded.weight.values], [1, 3, 20, 40]);
    assert.deepEqual([...folded.bias.values], [-1, 0]);
  });
});

describe('the folded ONNX graph against the tfjs model of the same spec and weights', () => {
  for (const spec of [resnetCifar, tinyBottleneck]) {
    test(`${spec.name}: onnxruntime's embedding and probabilities match tfjs within 1e-4 of their range`, async () => {
      const model = randomModel(spec, 7);
      const input = tf.randomNormal([2, spec.inputSize, spec.inputSize, 3], 0, 50, 'float32', 3);
      const [embedding, probabilities] = model.predict(input) as tf.Tensor[];
      const { bytes } = buildOnnxResNet(spec, namedWeights(model));
      const session = await ort.InferenceSession.create(bytes);
      try {
        const outputs = await session.run({
          [ONNX_NAMES.input]: new ort.Tensor('float32', input.dataSync() as Float32Array, input.shape),
        });
        assert.deepEqual(outputs[ONNX_NAMES.embedding]?.dims, [2, spec.embeddingSize]);
        assert.ok(
          relativeDifference(
            outputs[ONNX_NAMES.embedding]?.data as Float32Array,
            embedding?.dataSync() as Float32Array,
          ) < FOLD_TOLERANCE,
        );
        assert.ok(
          relativeDifference(
            outputs[ONNX_NAMES.probabilities]?.data as Float32Array,
            probabilities?.dataSync() as Float32Array,
          ) < FOLD_TOLERANCE,
        );
      } finally {
        await session.release();
        model.dispose();
        tf.dispose([input, embedding, probabilities] as tf.Tensor[]);
      }
    });
  }

  test('a weights map missing a BatchNorm tensor is refused with a ModelError naming it', () => {
    const model = randomModel(resnetCifar, 1);
    const { 'bn2a_branch2b/moving_variance': _dropped, ...weights } = namedWeights(model);
    model.dispose();
    assert.throws(
      () => buildOnnxResNet(resnetCifar, weights),
      (error: unknown) => error instanceof ModelError && /bn2a_branch2b\/moving_variance/.test(error.message),
    );
  });
});

describe('the ResNet-50 graph from the published weights', () => {
  let graph: ReturnType<typeof buildOnnxResNet>;
  let decoded: InstanceType<typeof onnx.ModelProto>;

  before(async () => {
    const weights = await readWeightsFile(resolveModelLocation(undefined).read, 'ResNet50/model.json');
    graph = buildOnnxResNet(resnet50, plainWeights(weights.tensors));
    tf.dispose(Object.values(weights.tensors));
    decoded = onnx.ModelProto.decode(graph.bytes);
  });

  const dims = (value: OnnxSchema.IValueInfoProto | undefined) =>
    value?.type?.tensorType?.shape?.dim?.map((dim) => dim.dimParam || Number(dim.dimValue));

  test('it takes "input" [batch, 224, 224, 3] and gives "embedding" [batch, 2048] and "probabilities" [batch, 1000]', () => {
    assert.deepEqual(
      decoded.graph?.input?.map((value) => [value.name, dims(value)]),
      [['input', ['batch', 224, 224, 3]]],
    );
    assert.deepEqual(
      decoded.graph?.output?.map((value) => [value.name, dims(value)]),
      [
        ['embedding', ['batch', 2048]],
        ['probabilities', ['batch', 1000]],
      ],
    );
  });

  test('it has no BatchNormalization node: 53 Convs carry the folded BatchNorms', () => {
    const ops = (decoded.graph?.node ?? []).map((node) => node.opType);
    assert.ok(!ops.includes('BatchNormalization'));
    assert.equal(ops.filter((op) => op === 'Conv').length, 53);
    assert.deepEqual([...new Set(ops)].sort(), [
      'Add',
      'Conv',
      'Flatten',
      'Gemm',
      'GlobalAveragePool',
      'MaxPool',
      'Relu',
      'Softmax',
      'Transpose',
    ]);
  });

  test("it holds 25,530,472 parameters: Keras' 25,636,712 less gamma, beta, mean and variance of 26,560 BatchNorm channels", () => {
    assert.equal(graph.parameterCount, 25_636_712 - 4 * 26_560);
  });
});
