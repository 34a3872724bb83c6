/**
 * The ONNX counterpart of load-resnet.ts: reads the same weights and labels, and returns the path
 * of the spec's ONNX graph for them, generating and caching it (onnx-model-cache.ts) on first use.
 * The model identity (modelId, weightsSha256, labels) is computed exactly as for tfjs, so results
 * do not depend on the engine.
 *
 * Generation is lazy (first open, ~10 s for ResNet-50) rather than in `npm run fetch-model`: the
 * graph depends on the generator version as well as the weights, and weights from s3:// never
 * pass through fetch-model. Images generate it at build time instead (`npm run prepare-model`,
 * model/prepare-model.ts), so that their workers start without writing anything.
 */

import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { describeError, ModelError } from '../../shared/errors.ts';
import { ARTIFACT_LAYOUT } from '../artifact.ts';
import { readLabels } from '../labels.ts';
import { type ArtifactLayout, checkBatchNormEpsilon, modelIdFor } from '../load-resnet.ts';
import { readWeightsFile } from '../load-weights.ts';
import { cacheRoot, runtimeCacheRoot } from '../model-cache.ts';
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
  /**
   * The one cache root to look in and write to. Default: look in cacheRoot() ($RESNET_BATCH_CACHE,
   * which an image build fills), then runtimeCacheRoot() ($RESNET_BATCH_RUNTIME_CACHE); generate
   * into the runtime one (model-cache.ts).
   */
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
  const roots = options.cacheRoot ? [options.cacheRoot] : [...new Set([cacheRoot(), runtimeCacheRoot()])];
  try {
    for (const root of roots) {
      const modelPath = onnxModelPath(weights.sha256, spec.name, root);
      const cached = await readCachedOnnxDigest(modelPath);
      if (cached) return { ...identity, modelPath, onnxSha256: cached, generated: false };
    }
    const modelPath = onnxModelPath(weights.sha256, spec.name, roots.at(-1));
    await checkWritable(modelPath); // before the ~10 s of generation, not after
    checkBatchNormEpsilon(weights.modelJson, spec, layout.modelJson);
    const { bytes } = buildOnnxResNet(spec, plainWeights(weights.tensors));
    return { ...identity, modelPath, onnxSha256: await writeGraph(modelPath, bytes), generated: true };
  } finally {
    Object.values(weights.tensors).forEach((tensor) => {
      tensor.dispose();
    });
  }
}

/** Creates the graph's folder and checks that this user may write it; throws cacheNotWritable otherwise. */
async function checkWritable(modelPath: string): Promise<void> {
  try {
    await mkdir(dirname(modelPath), { recursive: true });
    await access(dirname(modelPath), constants.W_OK);
  } catch (error) {
    throw cacheNotWritable(modelPath, error);
  }
}

/** writeCachedOnnx; a failure (say a full disk) is a cacheNotWritable error too. */
async function writeGraph(modelPath: string, bytes: Uint8Array): Promise<string> {
  try {
    return await writeCachedOnnx(modelPath, bytes);
  } catch (error) {
    throw cacheNotWritable(modelPath, error);
  }
}

/**
 * What a worker says when it cannot store the graph (a read-only or root-owned cache, a full
 * disk): the folder and the two ways out, instead of a bare EACCES from deep inside fs.
 */
function cacheNotWritable(modelPath: string, error: unknown): ModelError {
  const code = (error as NodeJS.ErrnoException).code ?? describeError(error);
  return new ModelError(
    `cannot write the generated ONNX graph to ${dirname(modelPath)} (${code}); expected a cache folder this user can write: set RESNET_BATCH_RUNTIME_CACHE to one (the images use /var/cache/resnet-batch), or generate the graph beforehand with \`npm run prepare-model\` as a user that can write RESNET_BATCH_CACHE`,
    { cause: error },
  );
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
