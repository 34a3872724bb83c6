/**
 * The ONNX counterpart of load-resnet.ts: reads the same weights and labels, and returns the path
 * of the spec's ONNX graph for them, generating and caching it (onnx-model-cache.ts) on first use.
 * The model identity (modelId, weightsSha256, labels) is computed exactly as for tfjs, so results
 * do not depend on the engine. No TensorFlow.js is loaded: the weights are read by weights-file.ts.
 *
 * Generation is lazy (first open, ~10 s for ResNet-50) rather than in `npm run fetch-model`: the
 * graph depends on the generator version as well as the weights, and weights from s3:// never
 * pass through fetch-model. Images generate it at build time instead (`npm run prepare-model`,
 * model/prepare-model.ts), so that their workers start without writing anything.
 *
 * A warm start reads neither the weights nor the graph: weights in a local folder are identified
 * by a memo of their sha256 kept under the files' size, mtime and inode (file-fingerprint.ts), and
 * the cached graph's digest likewise; only model.json and the labels are read.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { describeError, ModelError } from '../../shared/errors.ts';
import { ARTIFACT_LAYOUT, type ArtifactLayout, modelIdFor } from '../artifact.ts';
import { fingerprint, recall, remember } from '../file-fingerprint.ts';
import { readLabels } from '../labels.ts';
import { cacheRoot, runtimeCacheRoot } from '../model-cache.ts';
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
  /**
   * The one cache root to look in and write to. Default: look in cacheRoot() ($RESNET_BATCH_CACHE,
   * which an image build fills), then runtimeCacheRoot() ($RESNET_BATCH_RUNTIME_CACHE); generate
   * into the runtime one (model-cache.ts).
   */
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
  const { roots, writableRoot } = graphCacheRoots(options);
  const identity = (weightsSha256: string) => ({
    modelId: modelIdFor(spec, weightsSha256),
    weightsSha256,
    spec,
  });

  const [labels, memo] = await Promise.all([
    readLabels(read, layout.labels, spec.classCount),
    options.localDir ? weightsMemo(read, layout.modelJson, options.localDir, writableRoot) : undefined,
  ]);
  const remembered = memo ? await recall(memo.path, memo.files) : undefined;
  if (remembered) {
    const cached = await findCachedGraph(remembered, spec, roots);
    if (cached) return { ...identity(remembered), labels, ...cached, generated: false };
  }

  const before = memo ? await fingerprint(memo.files) : undefined;
  const weights = await readRawWeights(read, layout.modelJson);
  if (memo) await remember(memo.path, memo.files, before, weights.sha256);
  const cached = await findCachedGraph(weights.sha256, spec, roots);
  if (cached) return { ...identity(weights.sha256), labels, ...cached, generated: false };
  const modelPath = onnxModelPath(weights.sha256, spec.name, writableRoot);
  await checkWritable(modelPath); // before the ~10 s of generation, not after
  checkBatchNormEpsilon(weights.modelJson, spec, layout.modelJson);
  // Loaded only to generate (protobufjs and the ONNX schema: ~50 ms a warm start does not need).
  const { buildOnnxResNet } = await import('./build-onnx-resnet.ts');
  const { bytes } = buildOnnxResNet(spec, float32Weights(weights, layout.modelJson));
  return {
    ...identity(weights.sha256),
    labels,
    modelPath,
    onnxSha256: await writeGraph(modelPath, bytes),
    generated: true,
  };
}

/**
 * The cache roots a graph is looked up in, in order, and the one it is generated into: the
 * `cacheRoot` option alone, or cacheRoot() then runtimeCacheRoot(), generating into the last (the
 * one a running worker may write; an image's build-time root is read-only to it).
 */
export function graphCacheRoots(options: { cacheRoot?: string }): { roots: string[]; writableRoot: string } {
  const roots = options.cacheRoot ? [options.cacheRoot] : [...new Set([cacheRoot(), runtimeCacheRoot()])];
  return { roots, writableRoot: roots.at(-1) ?? cacheRoot() };
}

/** The first root holding the graph of these weights, with the graph's digest. */
async function findCachedGraph(
  weightsSha256: string,
  spec: ResNetSpec,
  roots: readonly string[],
): Promise<{ modelPath: string; onnxSha256: string } | undefined> {
  for (const root of roots) {
    const modelPath = onnxModelPath(weightsSha256, spec.name, root);
    const onnxSha256 = await readCachedOnnxDigest(modelPath);
    if (onnxSha256) return { modelPath, onnxSha256 };
  }
  return undefined;
}

/** Creates the graph's folder and checks that this user may write it; throws cacheNotWritable otherwise. */
export async function checkWritable(modelPath: string): Promise<void> {
  try {
    await mkdir(dirname(modelPath), { recursive: true });
    await access(dirname(modelPath), constants.W_OK);
  } catch (error) {
    throw cacheNotWritable(modelPath, error);
  }
}

/** writeCachedOnnx; a failure (say a full disk) is a cacheNotWritable error too. */
export async function writeGraph(modelPath: string, bytes: Uint8Array): Promise<string> {
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
