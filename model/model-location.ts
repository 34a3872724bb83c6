/**
 * Turns a model URI (the --model flag / MODEL_URI) into a byte source:
 * - unset or empty: the local cache the install fetched (model-cache.ts);
 * - a plain path or file:// URI: a local folder;
 * - anything with another scheme (s3://bucket/prefix/): the ReadModelFile factory registered for
 *   that scheme by the caller, so the storage layer plugs in without this file importing it.
 * The URI always names the artifact root: the folder holding ResNet50/model.json and assets/.
 */
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../shared/errors.ts';
import { artifactCacheDir } from './model-cache.ts';
import { readModelFileFromDir, type ReadModelFile } from './read-model-file.ts';

export interface ModelLocation {
  /** The URI as resolved (the cache folder when none was given), for logs and run manifests. */
  readonly uri: string;
  readonly read: ReadModelFile;
}

/** Makes a ReadModelFile for a URI of one scheme, e.g. `s3:` -> an object-store reader. */
export type ReadModelFileFactory = (uri: string) => ReadModelFile;

export interface ResolveModelOptions {
  /**
   * Readers for URI schemes other than file:, keyed by scheme with its colon ('s3:').
   * Default none: an s3:// URI is then a ConfigError saying the scheme is not available here.
   */
  readers?: Readonly<Record<string, ReadModelFileFactory>>;
  /** Environment for the default cache location ($RESNET_BATCH_CACHE). Default process.env. */
  env?: NodeJS.ProcessEnv;
}

export function resolveModelLocation(uri: string | undefined, options: ResolveModelOptions = {}): ModelLocation {
  const trimmed = uri?.trim() ?? '';
  if (trimmed === '') {
    const dir = artifactCacheDir(options.env);
    return { uri: dir, read: readModelFileFromDir(dir) };
  }
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === undefined) return { uri: trimmed, read: readModelFileFromDir(trimmed) };
  if (scheme === 'file:') {
    const dir = fileURLToPath(trimmed);
    return { uri: trimmed, read: readModelFileFromDir(dir) };
  }
  const factory = options.readers?.[scheme];
  if (!factory) {
    const known = ['file:', ...Object.keys(options.readers ?? {})].join(', ');
    throw new ConfigError(`model URI '${trimmed}' uses scheme ${scheme}, which this command cannot read; expected a folder path or one of ${known}`);
  }
  return { uri: trimmed, read: factory(trimmed) };
}
