/**
 * The weights file of a TensorFlow.js layers model (model.json and the binary shards its
 * weightsManifest lists), read WITHOUT TensorFlow.js: the ONNX engines need the raw floats and the
 * digest, and importing @tensorflow/tfjs for that costs a second of start-up and prints its "Hi,
 * looks like you are running TensorFlow.js" banner (issue 12). The tfjs engines decode the same
 * bytes into tensors (load-weights.ts).
 *
 * The format (tfjs-converter's "weights manifest"): each group's shards, concatenated, hold the
 * group's weights one after the other, each `shape` elements of `dtype` (little-endian), in the
 * order listed.
 */
import { createHash } from 'node:crypto';
import { ModelError } from '../shared/errors.ts';
import { type ReadModelFile, readModelJsonFile, resolveArtifactPath } from './read-model-file.ts';
import type { ResNetSpec } from './spec.ts';

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  /** Present on quantized weights (tfjs-converter --quantize_*); the ONNX path refuses them. */
  quantization?: unknown;
}

export interface WeightsGroup {
  paths: string[];
  weights: WeightSpec[];
}

/** The parts of model.json this project reads. */
export interface ModelJson {
  modelTopology?: unknown;
  weightsManifest: WeightsGroup[];
}

export interface RawWeightsFile {
  modelJson: ModelJson;
  /** Each group of the manifest with its shards concatenated, in manifest order. */
  groups: { group: WeightsGroup; data: ArrayBuffer }[];
  /** sha256 hex over the bytes of model.json then every shard in manifest order: identifies the weights wherever they are stored. */
  sha256: string;
}

const BYTES_PER_ELEMENT: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** Reads and checks model.json: a tfjs layers model.json with a weightsManifest of [{paths, weights}]. */
export async function readModelJson(
  read: ReadModelFile,
  path: string,
): Promise<{ modelJson: ModelJson; bytes: Uint8Array }> {
  const { parsed, bytes } = await readModelJsonFile(read, path);
  const manifest = (parsed as { weightsManifest?: unknown }).weightsManifest;
  const valid =
    Array.isArray(manifest) && manifest.every((group) => Array.isArray(group?.paths) && Array.isArray(group?.weights));
  if (!valid) {
    throw new ModelError(
      `${path} has no valid weightsManifest: expected a TensorFlow.js layers model.json with [{paths, weights}], received keys ${JSON.stringify(Object.keys(parsed ?? {}))}`,
    );
  }
  return { modelJson: parsed as ModelJson, bytes };
}

/** The shard paths of the manifest, relative to the artifact root, in manifest order. */
export function shardPaths(modelJson: ModelJson, modelJsonPath: string): string[] {
  return modelJson.weightsManifest.flatMap((group) =>
    group.paths.map((path) => resolveArtifactPath(modelJsonPath, path)),
  );
}

/** Reads model.json at `modelJsonPath` and its shards, checks each group's size, and hashes them all. */
export async function readRawWeights(read: ReadModelFile, modelJsonPath: string): Promise<RawWeightsFile> {
  const { modelJson, bytes } = await readModelJson(read, modelJsonPath);
  const hash = createHash('sha256').update(bytes);
  const groups: RawWeightsFile['groups'] = [];
  for (const group of modelJson.weightsManifest) {
    // Sequential reads keep the digest in manifest order.
    const shards: Uint8Array[] = [];
    for (const path of group.paths) {
      const shard = await read(resolveArtifactPath(modelJsonPath, path));
      hash.update(shard);
      shards.push(shard);
    }
    const data = concatenate(shards);
    checkGroupSize(group, data.byteLength, modelJsonPath);
    groups.push({ group, data });
  }
  return { modelJson, groups, sha256: hash.digest('hex') };
}

/**
 * Every weight as plain float32 values by name ('bn_conv1/moving_mean'), views into the group
 * buffers where aligned. Quantized or non-float32 weights are refused: ResNet's are all float32.
 */
export function float32Weights(
  raw: RawWeightsFile,
  path: string,
): Record<string, { shape: number[]; values: Float32Array }> {
  const named: Record<string, { shape: number[]; values: Float32Array }> = {};
  for (const { group, data } of raw.groups) {
    let offset = 0;
    for (const weight of group.weights) {
      if (weight.dtype !== 'float32' || weight.quantization !== undefined) {
        throw new ModelError(
          `${path}: weight '${weight.name}' is ${weight.quantization ? 'quantized ' : ''}${weight.dtype}, expected float32; convert the model without quantization, or use a tfjs engine (--engine tfjs-wasm)`,
        );
      }
      const count = weight.shape.reduce((n, d) => n * d, 1);
      const values =
        offset % 4 === 0
          ? new Float32Array(data, offset, count)
          : new Float32Array(data.slice(offset, offset + count * 4));
      named[weight.name] = { shape: weight.shape, values };
      offset += count * 4;
    }
  }
  return named;
}

function concatenate(parts: Uint8Array[]): ArrayBuffer {
  const total = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out.buffer;
}

/** A truncated or swapped shard would otherwise decode into shifted, silently wrong tensors. */
function checkGroupSize(group: WeightsGroup, received: number, path: string): void {
  if (group.weights.some((entry) => entry.quantization !== undefined)) return;
  const expected = group.weights.reduce(
    (sum, entry) => sum + entry.shape.reduce((n, d) => n * d, 1) * (BYTES_PER_ELEMENT[entry.dtype] ?? 4),
    0,
  );
  if (expected !== received) {
    throw new ModelError(
      `the shards ${group.paths[0]}..${group.paths[group.paths.length - 1]} of ${path} hold ${received} bytes, expected ${expected} for the tensors model.json lists; a shard is truncated or from another model: fetch it again with \`npm run fetch-model\``,
    );
  }
}

/**
 * Epsilon is not a weight, so the name-and-shape check cannot see it, yet a wrong one shifts every
 * activation (Keras 2.2.4 saved 0.001; newer keras-applications use 1.001e-5). When model.json
 * carries a Keras topology, each BatchNormalization's epsilon must equal the spec's.
 */
export function checkBatchNormEpsilon(modelJson: ModelJson, spec: ResNetSpec, path: string): void {
  const layers =
    (modelJson.modelTopology as { model_config?: { config?: { layers?: KerasLayer[] } } } | undefined)?.model_config
      ?.config?.layers ?? [];
  const wrong = layers.find(
    (layer) => layer.class_name === 'BatchNormalization' && layer.config?.epsilon !== spec.batchNormEpsilon,
  );
  if (wrong) {
    throw new ModelError(
      `${path}: BatchNormalization ${wrong.config?.name} has epsilon ${wrong.config?.epsilon}, but spec ${spec.name} builds epsilon ${spec.batchNormEpsilon}; use a spec whose batchNormEpsilon matches the weights`,
    );
  }
}

interface KerasLayer {
  class_name?: string;
  config?: { name?: string; epsilon?: number };
}
