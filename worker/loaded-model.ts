import { ResnetBatchError } from '../shared/errors.ts';
import type { Precision } from '../shared/precision.ts';

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
