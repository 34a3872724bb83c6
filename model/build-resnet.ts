/**
 * Builds a ResNet as a TensorFlow.js LayersModel from a ResNetSpec, with randomly initialised
 * weights; load-weights.ts fills them in by layer name.
 *
 * The graph follows Keras' ResNet50 (keras-applications v1, the one the published weights come
 * from), because the weights only reproduce its outputs on the same graph:
 * - padding is explicit (ZeroPadding2D then a 'valid' window), which is symmetric like the
 *   document's "padding 3" / "padding 1"; TF's 'same' would pad asymmetrically on stride 2;
 * - a bottleneck block downsamples on its first 1x1 conv and on the shortcut conv (v1), not on the
 *   3x3 (v1.5, torchvision);
 * - a projection shortcut (1x1 conv + BatchNorm) wherever the block changes shape: the first block
 *   of every stage of a bottleneck net, and of every stage after the first of a basic net.
 *
 * The model has ONE input (NHWC float32, BGR, mean-subtracted) and TWO outputs:
 * [embedding (batch x embeddingSize), probabilities (batch x classCount)].
 */
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../shared/errors.ts';
import { type BlockNames, blockNames, classifierName, HEAD_NAMES, STEM_NAMES } from './layer-names.ts';
import { blockExpansion, type ResNetSpec } from './spec.ts';

type Symbolic = tf.SymbolicTensor;

/** Builds the model for `spec`. Synchronous: it only allocates (random) weights on the active backend. */
export function buildResNet(spec: ResNetSpec): tf.LayersModel {
  checkSpec(spec);
  const input = tf.input({ shape: [spec.inputSize, spec.inputSize, 3], name: 'input_1' });
  let x = spec.stem === 'imagenet' ? imagenetStem(spec, input) : cifarStem(spec, input);
  spec.stageBlocks.forEach((blocks, stage) => {
    for (let block = 0; block < blocks; block += 1) {
      const names = blockNames(stage, block, blocks);
      const stride = stage > 0 && block === 0 ? 2 : 1;
      const width = spec.stageWidths[stage] ?? 0;
      x =
        spec.block === 'bottleneck'
          ? bottleneckBlock(spec, x, names, width, stride)
          : basicBlock(spec, x, names, width, stride);
    }
  });
  const embedding = tf.layers.globalAveragePooling2d({ name: HEAD_NAMES.pool }).apply(x) as Symbolic;
  const probabilities = tf.layers
    .dense({ units: spec.classCount, activation: 'softmax', name: classifierName(spec.classCount) })
    .apply(embedding) as Symbolic;
  return tf.model({ inputs: input, outputs: [embedding, probabilities], name: spec.name });
}

function checkSpec(spec: ResNetSpec): void {
  const expected = (spec.stageWidths[spec.stageWidths.length - 1] ?? 0) * blockExpansion(spec.block);
  if (spec.stageBlocks.length !== spec.stageWidths.length || spec.stageBlocks.length === 0) {
    throw new ModelError(
      `ResNet spec '${spec.name}' has ${spec.stageBlocks.length} stage block counts and ${spec.stageWidths.length} stage widths; give one width per stage`,
    );
  }
  if (spec.embeddingSize !== expected) {
    throw new ModelError(
      `ResNet spec '${spec.name}' says embeddingSize ${spec.embeddingSize}, but its last stage outputs ${expected} channels; build specs with defineResNet()`,
    );
  }
}

function imagenetStem(spec: ResNetSpec, input: Symbolic): Symbolic {
  let x = tf.layers
    .zeroPadding2d({
      padding: [
        [3, 3],
        [3, 3],
      ],
      name: STEM_NAMES.pad,
    })
    .apply(input) as Symbolic;
  x = conv(spec, x, STEM_NAMES.conv, spec.stemWidth, 7, 2, 'valid');
  x = relu(batchNorm(spec, x, STEM_NAMES.bn), STEM_NAMES.relu);
  x = tf.layers
    .zeroPadding2d({
      padding: [
        [1, 1],
        [1, 1],
      ],
      name: STEM_NAMES.poolPad,
    })
    .apply(x) as Symbolic;
  return tf.layers
    .maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name: STEM_NAMES.pool })
    .apply(x) as Symbolic;
}

/** 3x3 stride 1 padding 1 ('same' is symmetric at stride 1), no pooling: CIFAR inputs are only 32x32. */
function cifarStem(spec: ResNetSpec, input: Symbolic): Symbolic {
  const x = conv(spec, input, STEM_NAMES.conv, spec.stemWidth, 3, 1, 'same');
  return relu(batchNorm(spec, x, STEM_NAMES.bn), STEM_NAMES.relu);
}

/** 1x1 (stride here, Keras v1) -> 3x3 -> 1x1 expand x4, plus the shortcut. */
function bottleneckBlock(
  spec: ResNetSpec,
  input: Symbolic,
  names: BlockNames,
  width: number,
  stride: number,
): Symbolic {
  let x = relu(
    batchNorm(spec, conv(spec, input, names.conv('2a'), width, 1, stride, 'valid'), names.bn('2a')),
    names.other('2a_relu'),
  );
  x = relu(
    batchNorm(spec, conv(spec, x, names.conv('2b'), width, 3, 1, 'same'), names.bn('2b')),
    names.other('2b_relu'),
  );
  x = batchNorm(spec, conv(spec, x, names.conv('2c'), width * 4, 1, 1, 'valid'), names.bn('2c'));
  return addAndRelu(x, shortcut(spec, input, names, width * 4, stride), names);
}

/** 3x3 (stride here) -> 3x3, plus the shortcut. */
function basicBlock(spec: ResNetSpec, input: Symbolic, names: BlockNames, width: number, stride: number): Symbolic {
  let x = relu(batchNorm(spec, conv3x3(spec, input, names, width, stride), names.bn('2a')), names.other('2a_relu'));
  x = batchNorm(spec, conv(spec, x, names.conv('2b'), width, 3, 1, 'same'), names.bn('2b'));
  return addAndRelu(x, shortcut(spec, input, names, width, stride), names);
}

/** Stride-2 3x3 gets explicit symmetric padding 1 (floor((I-1)/2)+1 outputs, like the document); stride 1 is 'same'. */
function conv3x3(spec: ResNetSpec, input: Symbolic, names: BlockNames, width: number, stride: number): Symbolic {
  if (stride === 1) return conv(spec, input, names.conv('2a'), width, 3, 1, 'same');
  const padded = tf.layers
    .zeroPadding2d({
      padding: [
        [1, 1],
        [1, 1],
      ],
      name: names.other('2a_pad'),
    })
    .apply(input) as Symbolic;
  return conv(spec, padded, names.conv('2a'), width, 3, stride, 'valid');
}

/** Identity when the shape is unchanged, else a 1x1 projection (conv + BatchNorm) carrying the stride. */
function shortcut(spec: ResNetSpec, input: Symbolic, names: BlockNames, outChannels: number, stride: number): Symbolic {
  const inChannels = input.shape[3];
  if (stride === 1 && inChannels === outChannels) return input;
  return batchNorm(spec, conv(spec, input, names.conv('1'), outChannels, 1, stride, 'valid'), names.bn('1'));
}

function addAndRelu(residual: Symbolic, shortcutOut: Symbolic, names: BlockNames): Symbolic {
  const sum = tf.layers.add({ name: names.other('add') }).apply([residual, shortcutOut]) as Symbolic;
  return relu(sum, names.other('relu'));
}

function conv(
  spec: ResNetSpec,
  input: Symbolic,
  name: string,
  filters: number,
  kernel: number,
  stride: number,
  padding: 'valid' | 'same',
): Symbolic {
  return tf.layers
    .conv2d({
      filters,
      kernelSize: kernel,
      strides: stride,
      padding,
      useBias: spec.convBias,
      kernelInitializer: 'heNormal',
      name,
    })
    .apply(input) as Symbolic;
}

function batchNorm(spec: ResNetSpec, input: Symbolic, name: string): Symbolic {
  return tf.layers
    .batchNormalization({ axis: 3, epsilon: spec.batchNormEpsilon, momentum: 0.99, name })
    .apply(input) as Symbolic;
}

function relu(input: Symbolic, name: string): Symbolic {
  return tf.layers.activation({ activation: 'relu', name }).apply(input) as Symbolic;
}
