import { ConfigError, describeError, ModelError, ResnetBatchError } from '../shared/errors.ts';
import { parseRecordedModelRef } from '../shared/inference/model-ref.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import { ARTIFACT_LAYOUT, ARTIFACT_MODEL_ID, ARTIFACT_WEIGHTS_SHA256, modelIdFor } from './artifact.ts';
import { readLabels } from './labels.ts';
import { locateModel } from './model-location.ts';
import { resnet50 } from './spec.ts';
import { checkBatchNormEpsilon, readRawWeights } from './weights-file.ts';

/** A model a run may name: its reference, the digest of its weights and the id its rows will carry. */
export interface CheckedModel {
  /** As the run records it: 'default' or the canonical URI (shared/inference/model-ref.ts). */
  ref: string;
  /** sha256 over model.json and every weight shard in manifest order (weights-file.ts). */
  weightsSha256: string;
  /** The `model` of every row (artifact.ts modelIdFor). */
  modelId: string;
}

export interface CheckModelOptions {
  /** Environment for the cache locations. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Opens the store of a remote model URI; default shared/storage/open-store.ts. */
  openStore?: (uri: string) => ObjectStore;
}

/**
 * What `submit` checks of the run's model before it enqueues anything, so that a wrong `--model`
 * is one line at submit instead of every shard failing in the workers half a minute later: the
 * folder is reachable, complete (model.json, each shard its weightsManifest lists at the size it
 * gives, assets/labels.json) and fits ResNet-50, and its weights digest is the one the run
 * records. Reads the whole model (about 100 MB; a remote one lands in the same host cache a
 * worker would fill).
 *
 * The default model is not read: it is the pinned artifact that each worker host fetches into its
 * own cache and checks against the pinned digest (model/fetch-weights.ts), and the host that
 * submits may not have it at all.
 */
export async function checkModel(ref: string, options: CheckModelOptions = {}): Promise<CheckedModel> {
  const model = parseRecordedModelRef(ref);
  if (model.kind === 'packaged') {
    return { ref, weightsSha256: ARTIFACT_WEIGHTS_SHA256, modelId: ARTIFACT_MODEL_ID };
  }
  const location = locateModel(model, options);
  try {
    // Read together, reported in a fixed order (the weights first): the same folder gets the same message every time.
    const [weightsRead, labelsRead] = await Promise.allSettled([
      readRawWeights(location.read, ARTIFACT_LAYOUT.modelJson),
      readLabels(location.read, ARTIFACT_LAYOUT.labels, resnet50.classCount),
    ]);
    if (weightsRead.status === 'rejected') throw weightsRead.reason;
    if (labelsRead.status === 'rejected') throw labelsRead.reason;
    const weights = weightsRead.value;
    checkBatchNormEpsilon(weights.modelJson, resnet50, ARTIFACT_LAYOUT.modelJson);
    return { ref, weightsSha256: weights.sha256, modelId: modelIdFor(resnet50, weights.sha256) };
  } catch (error) {
    // A ModelError says what is wrong and how to fix it already; anything else (a store's error) gets the layout.
    const reason =
      error instanceof ModelError
        ? error.message
        : `${error instanceof ResnetBatchError ? error.message : describeError(error)}; --model must name a folder (a path, file:// or s3:// URI) holding ${ARTIFACT_LAYOUT.modelJson}, the weight shards it lists and ${ARTIFACT_LAYOUT.labels}, as \`npm run fetch-model\` lays them out`;
    throw new ConfigError(`--model ${ref} cannot be used: ${reason}`, { cause: error });
  }
}
