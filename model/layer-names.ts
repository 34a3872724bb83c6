/**
 * Layer names of the original Caffe/Keras ResNet, which the published weights are keyed by:
 * conv1/bn_conv1 for the stem, then per block `res{stage}{block}_branch{2a,2b,2c,1}` and
 * `bn{stage}{block}_branch...`, stages numbered from 2, and fc1000 for the head. Weights load by
 * these names, so they are part of the weights contract: renaming one breaks loading.
 */

/**
 * Block id within a stage. Stages of up to 6 blocks use letters (a..f, as in ResNet-50); longer
 * ones use 'a', 'b1', 'b2', ... as Kaiming He's Caffe prototxts for ResNet-101/152 do
 * (res4b22_branch2c).
 */
export function blockId(blockIndex: number, blocksInStage: number): string {
  if (blocksInStage <= 6) return String.fromCharCode('a'.charCodeAt(0) + blockIndex);
  return blockIndex === 0 ? 'a' : `b${blockIndex}`;
}

/** Names of one block's layers: `conv(branch)` / `bn(branch)` with branch '2a', '2b', '2c' or '1'. */
export interface BlockNames {
  conv(branch: string): string;
  bn(branch: string): string;
  /** Names of layers without weights (pad, add, relu), derived so they never collide. */
  other(suffix: string): string;
}

/** `stageIndex` counts from 0; the names count stages from 2 because conv1 is "stage 1". */
export function blockNames(stageIndex: number, blockIndex: number, blocksInStage: number): BlockNames {
  const id = `${stageIndex + 2}${blockId(blockIndex, blocksInStage)}`;
  return {
    conv: (branch) => `res${id}_branch${branch}`,
    bn: (branch) => `bn${id}_branch${branch}`,
    other: (suffix) => `res${id}_${suffix}`,
  };
}

/** Stem and head layer names. conv1 / bn_conv1 / fc1000 carry weights; the others are named for readable summaries. */
export const STEM_NAMES = {
  pad: 'conv1_pad',
  conv: 'conv1',
  bn: 'bn_conv1',
  relu: 'conv1_relu',
  poolPad: 'pool1_pad',
  pool: 'pool1',
} as const;

export const HEAD_NAMES = {
  /** Output 0 of the model: the pooled embedding. */
  pool: 'avg_pool',
} as const;

/** Output 1 of the model, the softmax classifier: fc1000 for ImageNet (Keras' name), fc10 for CIFAR-10. */
export function classifierName(classCount: number): string {
  return `fc${classCount}`;
}
