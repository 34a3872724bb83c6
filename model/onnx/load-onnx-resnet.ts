/**
 * The ONNX counterpart of load-resnet.ts: reads the same weights and labels, and returns the path
 * of the spec's ONNX graph for them, generating and caching it (onnx-model-cache.ts) on first use.
 * The model identity (modelId, weightsSha256, labels) is computed exactly as for tfjs, so results
 * do not depend on the engine.
 *
 * Generation is lazy (first open, ~10 s for ResNet-50) rather than in `npm run fetch-model`: the
 * graph depends on the generator version as well as the weights, and weights from s3:// never
 * pass through fetch-model.
 */
import type * as tf from '@tensorflow/tfjs';
import { ARTIFACT_LAYOUT } from '../artifact.ts';
import { readLabels } from '../labels.ts';
import { type ArtifactLayout, checkBatchNormEpsilon, modelIdFor } from '../load-resnet.ts';
import { readWeightsFile } from '../load-weights.ts';
import type { ReadModelFile } from '../read-model-file.ts';
import type { ResNetSpec } from '../spec.ts';
import { buildOnnxResNet, type NamedWeights } from './build-onnx-resnet.ts';
import { onnxModelPath, readCachedOnnxDigest, writeCachedOnnx } from './onnx-model-cache.ts';

export interface LoadedOnnxResNet {
  /** The cached .onnx file, for InferenceSession.create. */
  modelPath: string;
  /** sha256 hex of the .onnx bytes. */
  onnxSha256: string;
  /** Whether this call generated the graph (false: the cache had it). */
  generated: boolean;
  labels: string[];
  modelId: string;
  weightsSha256: string;
  spec: ResNetSpec;
}

export interface LoadOnnxOptions {
  layout?: ArtifactLayout;
  /** Cache root; default cacheRoot() ($RESNET_BATCH_CACHE or ~/.cache/resnet-batch). */
  cacheRoot?: string;
}

export async function loadOnnxResNet(
  spec: ResNetSpec,
  read: ReadModelFile,
  options: LoadOnnxOptions = {},
): Promise<LoadedOnnxResNet> {
  const layout = options.layout ?? ARTIFACT_LAYOUT;
  const [weights, labels] = await Promise.all([
    readWeightsFile(read, layout.modelJson),
    readLabels(read, layout.labels, spec.classCount),
  ]);
  const identity = { labels, modelId: modelIdFor(spec, weights.sha256), weightsSha256: weights.sha256, spec };
  const modelPath = onnxModelPath(weights.sha256, spec.name, options.cacheRoot);
  try {
    const cached = await readCachedOnnxDigest(modelPath);
    if (cached) return { ...identity, modelPath, onnxSha256: cached, generated: false };
    checkBatchNormEpsilon(weights.modelJson, spec, layout.modelJson);
    const { bytes } = buildOnnxResNet(spec, plainWeights(weights.tensors));
    return { ...identity, modelPath, onnxSha256: await writeCachedOnnx(modelPath, bytes), generated: true };
  } finally {
    Object.values(weights.tensors).forEach((tensor) => {
      tensor.dispose();
    });
  }
}

/** Copies tfjs tensors out as plain float arrays (the ONNX builder needs no tfjs). */
export function plainWeights(tensors: tf.NamedTensorMap): NamedWeights {
  return Object.fromEntries(
    Object.entries(tensors).map(([name, tensor]) => [
      name,
      { shape: tensor.shape, values: tensor.dataSync() as Float32Array },
    ]),
  );
}
