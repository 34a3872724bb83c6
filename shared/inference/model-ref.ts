import type { PipelineConfig } from '../config.ts';
import { normalizeUri } from '../storage/uri.ts';

/**
 * The model reference of a run: 'default' for the pinned artifact in each host's own cache
 * (`npm run fetch-model`; the cache path differs between hosts, so it is not part of the
 * reference), otherwise the canonical URI (normalizeUri) of `--model`, else MODEL_URI. Producer
 * and worker both compute it here, because the worker compares a shard's model with the one it
 * loaded, character for character, and refuses a shard that names another.
 */
export const DEFAULT_MODEL_REF = 'default';

export function resolveModelUri(flag: string | undefined, config: Pick<PipelineConfig, 'MODEL_URI'>): string {
  const given = flag ?? config.MODEL_URI;
  return given === undefined || given.trim() === '' || given === DEFAULT_MODEL_REF
    ? DEFAULT_MODEL_REF
    : normalizeUri(given);
}
