import { ResnetBatchError } from '../shared/errors.ts';
import type { Precision } from '../shared/inference/precision.ts';

/** The model a worker loaded at start: its location and the precision it runs at. */
export interface LoadedModel {
  uri: string;
  precision: Precision;
}

/**
 * A worker runs one model at one precision, loaded at start; work for another is given back
 * (retryable) for a worker that has it, rather than loading a second engine next to the first:
 * a run's rows never mix models or precisions, and memory stays that of one model.
 */
export function requireLoadedModel(loaded: LoadedModel, what: string, model: string, precision: Precision): void {
  if (model === loaded.uri && precision === loaded.precision) return;
  throw new ResnetBatchError(
    'MODEL_MISMATCH',
    `${what} needs model ${model} at ${precision}, but this worker loaded ${loaded.uri} at ${loaded.precision}; start workers with --model ${model} --precision ${precision}`,
    { retryable: true },
  );
}

/**
 * The weights this worker loaded must be those submit checked for the run (RunRecord.modelSha256):
 * files replaced at the same model URI after submit would otherwise give the run rows of two
 * models under one reference. Retryable, like a model mismatch: a worker with the submitted files
 * may take the shard. A run recorded without a digest, and the null engine (no weights), pass.
 */
export function requireRecordedWeights(
  loaded: { uri: string; weightsSha256: string },
  recordedSha256: string | null | undefined,
  what: string,
): void {
  if (!recordedSha256 || loaded.weightsSha256 === NO_WEIGHTS || loaded.weightsSha256 === recordedSha256) return;
  throw new ResnetBatchError(
    'MODEL_MISMATCH',
    `${what} was submitted with the weights at ${loaded.uri} of sha256 ${recordedSha256.slice(0, 12)}…, but this worker loaded ${loaded.weightsSha256.slice(0, 12)}… from there: the model files changed after submit; restore them and restart the workers, or submit the input again under a new run id`,
    { retryable: true },
  );
}

/** What the null engine (bench/ and tests; no model) reports as its weights digest. */
const NO_WEIGHTS = 'none';
