// ResNet's spatial arithmetic (He et al., 2015, Table 1; model/output-size.ts), checked on the models the
// builder makes: every depth is built once, its shapes recorded, and the model freed, so the
// 60M-parameter ResNet-152 never sits in memory next to the others.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { buildResNet } from '../../model/build-resnet.ts';
import { blockNames } from '../../model/layer-names.ts';
import { featureMapSizes, poolOutputSize, stemOutputSize } from '../../model/output-size.ts';
import {
  type ResNetSpec,
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  resnetCifar,
  withInputSize,
} from '../../model/spec.ts';

interface BuiltShapes {
  params: number;
  layerNames: string[];
  /** Output shape of a layer by name. */
  shape: (layer: string) => (number | null)[];
  outputs: (number | null)[][];
}

function buildAndMeasure(spec: ResNetSpec): BuiltShapes {
  const model = buildResNet(spec);
  try {
    const shapes = new Map(model.layers.map((layer) => [layer.name, layer.outputShape as (number | null)[]]));
    return {
      params: model.countParams(),
      layerNames: model.layers.map((layer) => layer.name),
      shape: (layer) => shapes.get(layer) ?? assert.fail(`no layer ${layer}`),
      outputs: model.outputs.map((output) => output.shape),
    };
  } finally {
    model.dispose();
  }
}

/** Name of the layer that outputs stage `stage` (0-based): the ReLU after its last block's add. */
function stageOutputLayer(spec: ResNetSpec, stage: number): string {
  const blocks = spec.stageBlocks[stage] ?? 0;
  return blockNames(stage, blocks - 1, blocks).other('relu');
}

const FOUR_STAGE = [resnet18, resnet34, resnet50, resnet101, resnet152];
const INPUT_SIZES = [224, 225, 227, 299, 300, 512];
const built = new Map<string, BuiltShapes>();

before(async () => {
  await tf.setBackend('wasm');
  for (const spec of [...FOUR_STAGE, resnetCifar]) built.set(spec.name, buildAndMeasure(spec));
});

function shapesOf(spec: ResNetSpec): BuiltShapes {
  return built.get(spec.name) ?? assert.fail(`${spec.name} was not built`);
}

describe('ResNet output-size arithmetic', () => {
  test('the stem conv and the max-pool each give floor((I-1)/2)+1 by the formula', () => {
    for (const input of INPUT_SIZES) {
      assert.equal(stemOutputSize(input), Math.floor((input - 1) / 2) + 1, `stem, I=${input}`);
      assert.equal(poolOutputSize(input), Math.floor((input - 1) / 2) + 1, `pool, I=${input}`);
    }
  });

  test('the built stem conv and max-pool layers have the sizes the formula gives for every input size', () => {
    for (const input of INPUT_SIZES) {
      const shapes = buildAndMeasure(withInputSize(resnet18, input));
      const stem = Math.floor((input - 1) / 2) + 1;
      assert.deepEqual(shapes.shape('conv1'), [null, stem, stem, 64], `conv1, I=${input}`);
      const pool = Math.floor((stem - 1) / 2) + 1;
      assert.deepEqual(shapes.shape('pool1'), [null, pool, pool, 64], `pool1, I=${input}`);
    }
  });

  test('a 224 input gives feature maps of 112, 56, then 56, 28, 14, 7 in the built ResNet-50', () => {
    const shapes = shapesOf(resnet50);
    const sides = ['conv1', 'pool1', ...[0, 1, 2, 3].map((stage) => stageOutputLayer(resnet50, stage))].map(
      (layer) => shapes.shape(layer)[1],
    );
    assert.deepEqual(sides, [112, 56, 56, 28, 14, 7]);
    assert.deepEqual(featureMapSizes(resnet50, 224), { stem: 112, pool: 56, stages: [56, 28, 14, 7] });
  });

  test('every four-stage depth reduces its input by 32', () => {
    for (const spec of FOUR_STAGE) {
      const last = shapesOf(spec).shape(stageOutputLayer(spec, 3));
      assert.deepEqual([last[1], last[2]], [224 / 32, 224 / 32], spec.name);
      for (const input of [224, 256, 512])
        assert.equal(featureMapSizes(spec, input).stages[3], input / 32, `${spec.name}, I=${input}`);
    }
  });
});

describe('ResNet builder', () => {
  test('ResNet-50 has exactly the 25,636,712 parameters of the published Keras weights', () => {
    assert.equal(shapesOf(resnet50).params, 25_636_712);
  });

  test('ResNet-18 and ResNet-34 embed into 512 dimensions and ResNet-50/101/152 into 2048', () => {
    for (const spec of FOUR_STAGE) {
      const expected = spec.block === 'basic' ? 512 : 2048;
      assert.equal(spec.embeddingSize, expected, `${spec.name} spec`);
      assert.deepEqual(
        shapesOf(spec).outputs,
        [
          [null, expected],
          [null, 1000],
        ],
        `${spec.name} outputs`,
      );
    }
  });

  test('the CIFAR [3,3,3] layout builds with stage widths 16, 32, 64 on 32, 16, 8 pixel maps', () => {
    const shapes = shapesOf(resnetCifar);
    const stages = [0, 1, 2].map((stage) => shapes.shape(stageOutputLayer(resnetCifar, stage)));
    assert.deepEqual(stages, [
      [null, 32, 32, 16],
      [null, 16, 16, 32],
      [null, 8, 8, 64],
    ]);
    assert.deepEqual(shapes.outputs, [
      [null, 64],
      [null, 10],
    ]);
  });

  test('stages longer than six blocks are named like the Caffe ResNet-101 (res4b22)', () => {
    const names = shapesOf(resnet101).layerNames;
    assert.ok(names.includes('res4b22_branch2c'));
    assert.ok(!names.includes('res4b23_branch2c'));
    assert.ok(names.includes('res5c_branch2c'));
  });
});
