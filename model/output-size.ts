/**
 * The spatial arithmetic of ResNet (He et al., "Deep Residual Learning for Image Recognition",
 * 2015, Table 1: a 7x7/2 stem convolution, a 3x3/2 max-pool, stride-2 downsampling in the first
 * block of stages 2-4): how big each feature map is for an input of I x I pixels. Pure functions; the tests check the built model's layer shapes against them.
 */
import type { ResNetSpec } from './spec.ts';

/**
 * Output size of a convolution or pooling window along one axis:
 * floor((I + 2 * padding - kernel) / stride) + 1.
 */
export function convOutputSize(input: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((input + 2 * padding - kernel) / stride) + 1;
}

/** ImageNet stem conv 7x7, stride 2, padding 3: floor((I - 1) / 2) + 1. */
export function stemOutputSize(input: number): number {
  return convOutputSize(input, 7, 2, 3);
}

/** Stem max-pool 3x3, stride 2, padding 1: floor((I - 1) / 2) + 1. */
export function poolOutputSize(input: number): number {
  return convOutputSize(input, 3, 2, 1);
}

/**
 * Feature map side lengths of a spec for an input of `input` pixels.
 * `stem` and `pool` equal the input for the CIFAR stem (3x3 stride 1 padding 1, no pool).
 * `stages[i]` is the output of stage i; stages after the first halve it with a stride-2 window
 * (1x1 stride 2 in a bottleneck, 3x3 stride 2 padding 1 in a basic block: both give
 * floor((I - 1) / 2) + 1).
 */
export function featureMapSizes(
  spec: ResNetSpec,
  input: number = spec.inputSize,
): { stem: number; pool: number; stages: number[] } {
  const imagenet = spec.stem === 'imagenet';
  const stem = imagenet ? stemOutputSize(input) : convOutputSize(input, 3, 1, 1);
  const pool = imagenet ? poolOutputSize(stem) : stem;
  const stages: number[] = [];
  let size = pool;
  spec.stageBlocks.forEach((_, index) => {
    if (index > 0) size = convOutputSize(size, 1, 2, 0);
    stages.push(size);
  });
  return { stem, pool, stages };
}
