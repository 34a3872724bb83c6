import type { PipelineConfig } from '../shared/config.ts';
import { artifactCacheDir } from '../shared/model/model-cache.ts';
import { normalizeUri } from '../shared/uri.ts';

/**
 * The model a run's workers must load: `--model`, else MODEL_URI, else the local cache of the
 * pinned artifact (`npm run fetch-model`). Canonical (normalizeUri), because the worker compares
 * it with the URI it loaded, character for character, and refuses a shard that names another.
 */
export function resolveModelUri(flag: string | undefined, config: Pick<PipelineConfig, 'MODEL_URI'>, env: NodeJS.ProcessEnv = process.env): string {
  return normalizeUri(flag ?? config.MODEL_URI ?? artifactCacheDir(env));
}
