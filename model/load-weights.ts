/**
 * Weights in TensorFlow.js layers format (model.json + binary shards, read by weights-file.ts)
 * decoded into tfjs tensors and assigned to a built model BY LAYER NAME ('res2a_branch2a/kernel'),
 * not by position: a weights file that does not fit the spec is refused with the tensor it trips
 * on, instead of loading shifted weights that would give confident nonsense.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../shared/errors.ts';
import type { ReadModelFile } from './read-model-file.ts';
import { type ModelJson, readRawWeights } from './weights-file.ts';

export interface WeightsFile {
  /** Parsed model.json. */
  modelJson: ModelJson;
  /** Every tensor of the manifest by its name ('bn_conv1/moving_mean'). The caller disposes them. */
  tensors: tf.NamedTensorMap;
  /** sha256 hex over the bytes of model.json then every shard in manifest order: identifies the weights wherever they are stored. */
  sha256: string;
}

/** Reads model.json at `modelJsonPath` and its shards (weights-file.ts), and decodes every tensor on the active backend. */
export async function readWeightsFile(read: ReadModelFile, modelJsonPath: string): Promise<WeightsFile> {
  const raw = await readRawWeights(read, modelJsonPath);
  const tensors: tf.NamedTensorMap = {};
  for (const { group, data } of raw.groups)
    Object.assign(tensors, tf.io.decodeWeights(data, group.weights as tf.io.WeightsManifestEntry[]));
  return { modelJson: raw.modelJson, tensors, sha256: raw.sha256 };
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
