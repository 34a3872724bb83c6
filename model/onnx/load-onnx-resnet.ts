/**
 * The ONNX counterpart of load-resnet.ts: reads the same weights and labels, and returns the path
 * of the spec's ONNX graph for them, generating and caching it (onnx-model-cache.ts) on first use.
 * The model identity (modelId, weightsSha256, labels) is computed exactly as for tfjs, so results
 * do not depend on the engine. No TensorFlow.js is loaded: the weights are read by weights-file.ts.
 *
 * Generation is lazy (first open, ~10 s for ResNet-50) rather than in `npm run fetch-model`: the
 * graph depends on the generator version as well as the weights, and weights from s3:// never
 * pass through fetch-model.
 *
 * A warm start reads neither the weights nor the graph: weights in a local folder are identified
 * by a memo of their sha256 kept under the files' size, mtime and inode (file-fingerprint.ts), and
 * the cached graph's digest likewise; only model.json and the labels are read.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { ARTIFACT_LAYOUT, type ArtifactLayout, modelIdFor } from '../artifact.ts';
import { fingerprint, recall, remember } from '../file-fingerprint.ts';
import { readLabels } from '../labels.ts';
import { cacheRoot } from '../model-cache.ts';
import type { ReadModelFile } from '../read-model-file.ts';
import type { ResNetSpec } from '../spec.ts';
import { checkBatchNormEpsilon, float32Weights, readModelJson, readRawWeights, shardPaths } from '../weights-file.ts';
import type { NamedWeights } from './build-onnx-resnet.ts';
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
  /**
   * The local folder `read` reads from, when it is one (model-location.ts ModelLocation.localDir):
   * then the weights' digest is remembered by the files' size, mtime and inode. Default none:
   * every open reads and hashes the weights.
   */
  localDir?: string;
}

export async function loadOnnxResNet(
  spec: ResNetSpec,
  read: ReadModelFile,
  options: LoadOnnxOptions = {},
): Promise<LoadedOnnxResNet> {
  const layout = options.layout ?? ARTIFACT_LAYOUT;
  const root = options.cacheRoot ?? cacheRoot();
  const identity = (weightsSha256: string) => ({
    modelId: modelIdFor(spec, weightsSha256),
    weightsSha256,
    spec,
  });

  const [labels, memo] = await Promise.all([
    readLabels(read, layout.labels, spec.classCount),
    options.localDir ? weightsMemo(read, layout.modelJson, options.localDir, root) : undefined,
  ]);
  const remembered = memo ? await recall(memo.path, memo.files) : undefined;
  if (remembered) {
    const modelPath = onnxModelPath(remembered, spec.name, root);
    const cached = await readCachedOnnxDigest(modelPath);
    if (cached) return { ...identity(remembered), labels, modelPath, onnxSha256: cached, generated: false };
  }

  const before = memo ? await fingerprint(memo.files) : undefined;
  const weights = await readRawWeights(read, layout.modelJson);
  if (memo) await remember(memo.path, memo.files, before, weights.sha256);
  const modelPath = onnxModelPath(weights.sha256, spec.name, root);
  const loaded = { ...identity(weights.sha256), labels, modelPath };
  const cached = await readCachedOnnxDigest(modelPath);
  if (cached) return { ...loaded, onnxSha256: cached, generated: false };
  checkBatchNormEpsilon(weights.modelJson, spec, layout.modelJson);
  // Loaded only to generate (protobufjs and the ONNX schema: ~50 ms a warm start does not need).
  const { buildOnnxResNet } = await import('./build-onnx-resnet.ts');
  const { bytes } = buildOnnxResNet(spec, float32Weights(weights, layout.modelJson));
  return { ...loaded, onnxSha256: await writeCachedOnnx(modelPath, bytes), generated: true };
}

/**
 * Where the digest of the weights in `localDir` is remembered, and the files it depends on:
 * <cache root>/identity/<sha256 of model.json's absolute path>.json, over model.json and its shards.
 */
async function weightsMemo(
  read: ReadModelFile,
  modelJsonPath: string,
  localDir: string,
  root: string,
): Promise<{ path: string; files: string[] }> {
  const { modelJson } = await readModelJson(read, modelJsonPath);
  const files = [modelJsonPath, ...shardPaths(modelJson, modelJsonPath)].map((file) => join(localDir, file));
  const key = createHash('sha256').update(files[0]!).digest('hex');
  return { path: join(root, 'identity', `${key}.json`), files };
}

/** Copies tfjs tensors out as plain float arrays (for tests that build a graph from a tfjs model). */
export function plainWeights(tensors: tf.NamedTensorMap): NamedWeights {
  return Object.fromEntries(
    Object.entries(tensors).map(([name, tensor]) => [
      name,
      { shape: tensor.shape, values: tensor.dataSync() as Float32Array },
    ]),
  );
}
