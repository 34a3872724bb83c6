/**
 * Weights in TensorFlow.js layers format (model.json + binary shards) read from any ReadModelFile,
 * and assigned to a built model BY LAYER NAME ('res2a_branch2a/kernel'), not by position: a
 * weights file that does not fit the spec is refused with the tensor it trips on, instead of
 * loading shifted weights that would give confident nonsense.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../shared/errors.ts';
import { type ReadModelFile, resolveArtifactPath } from './read-model-file.ts';

/** The parts of model.json this loader reads. */
export interface ModelJson {
  modelTopology?: unknown;
  weightsManifest: tf.io.WeightsManifestConfig;
}

export interface WeightsFile {
  /** Parsed model.json. */
  modelJson: ModelJson;
  /** Every tensor of the manifest by its name ('bn_conv1/moving_mean'). The caller disposes them. */
  tensors: tf.NamedTensorMap;
  /** sha256 hex over the bytes of model.json then every shard in manifest order: identifies the weights wherever they are stored. */
  sha256: string;
}

const BYTES_PER_ELEMENT: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** Reads model.json at `modelJsonPath` and its shards, and decodes every tensor on the active backend. */
export async function readWeightsFile(read: ReadModelFile, modelJsonPath: string): Promise<WeightsFile> {
  const jsonBytes = await read(modelJsonPath);
  const modelJson = parseModelJson(jsonBytes, modelJsonPath);
  const hash = createHash('sha256').update(jsonBytes);
  const tensors: tf.NamedTensorMap = {};
  for (const group of modelJson.weightsManifest) {
    // Sequential reads keep the digest in manifest order and the peak memory to one group.
    const shards: Uint8Array[] = [];
    for (const path of group.paths) {
      const shard = await read(resolveArtifactPath(modelJsonPath, path));
      hash.update(shard);
      shards.push(shard);
    }
    const buffer = concatenate(shards);
    checkGroupSize(group, buffer.byteLength, modelJsonPath);
    Object.assign(tensors, tf.io.decodeWeights(buffer, group.weights));
  }
  return { modelJson, tensors, sha256: hash.digest('hex') };
}

function parseModelJson(bytes: Uint8Array, path: string): ModelJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new ModelError(
      `${path} is not JSON (${(error as Error).message}); the model file is corrupt: fetch it again with \`npm run fetch-model\``,
      { cause: error },
    );
  }
  const manifest = (parsed as { weightsManifest?: unknown }).weightsManifest;
  const valid =
    Array.isArray(manifest) && manifest.every((group) => Array.isArray(group?.paths) && Array.isArray(group?.weights));
  if (!valid) {
    throw new ModelError(
      `${path} has no valid weightsManifest: expected a TensorFlow.js layers model.json with [{paths, weights}], received keys ${JSON.stringify(Object.keys(parsed ?? {}))}`,
    );
  }
  return parsed as ModelJson;
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
function checkGroupSize(group: tf.io.WeightsManifestConfig[number], received: number, path: string): void {
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
 * Copies `tensors` into the model's variables, matching each variable's name
 * (`<layer>/<weight>`) to a tensor of the same name. Every variable must get exactly one tensor of
 * its shape and every tensor must be used, else ModelError naming the tensor, its layer and both
 * shapes. Does not dispose `tensors`.
 */
export function assignWeightsByName(model: tf.LayersModel, tensors: tf.NamedTensorMap, source: string): void {
  const problems: string[] = [];
  const used = new Set<string>();
  for (const layer of model.layers) {
    for (const variable of layer.weights) {
      const name = variable.originalName;
      const tensor = tensors[name];
      used.add(name);
      if (!tensor)
        problems.push(`missing tensor '${name}' for layer ${layer.name} (expected shape ${shapeOf(variable.shape)})`);
      else if (shapeOf(tensor.shape) !== shapeOf(variable.shape)) {
        problems.push(
          `tensor '${name}' of layer ${layer.name} has shape ${shapeOf(tensor.shape)}, expected ${shapeOf(variable.shape)}`,
        );
      }
    }
  }
  for (const name of Object.keys(tensors)) {
    if (!used.has(name))
      problems.push(
        `extra tensor '${name}' (shape ${shapeOf(tensors[name]?.shape ?? [])}) matches no layer of ${model.name}`,
      );
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 8).join('; ') + (problems.length > 8 ? `; and ${problems.length - 8} more` : '');
    throw new ModelError(
      `weights in ${source} do not fit model ${model.name}: ${shown}. Use weights made for this spec (layer names as in Keras' ResNet50), or fetch the published ones with \`npm run fetch-model\``,
    );
  }
  for (const layer of model.layers) {
    if (layer.weights.length > 0)
      layer.setWeights(layer.weights.map((variable) => tensors[variable.originalName] as tf.Tensor));
  }
}

function shapeOf(shape: readonly (number | null)[]): string {
  return `[${shape.join(',')}]`;
}
