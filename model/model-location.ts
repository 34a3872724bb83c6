/**
 * Turns a model URI (the --model flag / MODEL_URI) into a byte source:
 * - unset or empty: the local cache the install fetched (model-cache.ts);
 * - a URI of a local store (a plain path, file://): that folder, read in place;
 * - a URI of any other store in the registry (s3://bucket/prefix/): read through that store and
 *   cached on local disk under a digest (remote-model-cache.ts).
 * The URI always names the artifact root: the folder holding ResNet50/model.json and assets/.
 */

import { resolve } from 'node:path';
import type { ModelRef } from '../shared/inference/model-ref.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import { localPathOf } from '../shared/storage/uri.ts';
import { artifactCacheDir } from './model-cache.ts';
import { type ReadModelFile, readModelFileFromDir } from './read-model-file.ts';
import { readModelFileFromStore } from './remote-model-cache.ts';

export interface ModelLocation {
  /** The URI as resolved (the cache folder when none was given), for logs and run manifests. */
  readonly uri: string;
  readonly read: ReadModelFile;
  /**
   * The local folder `read` reads from, for a local model (the cache, a path, file://); undefined
   * for a remote one. Lets a loader remember what it derives from the files (onnx/load-onnx-resnet.ts).
   */
  readonly localDir?: string;
}

export interface ResolveModelOptions {
  /** Environment for the cache locations ($RESNET_BATCH_CACHE). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Opens the store of a remote model URI; default shared/storage/open-store.ts. */
  openStore?: (uri: string) => ObjectStore;
}

/** Throws ConfigError for a URI no store answers for. */
export function resolveModelLocation(uri: string | undefined, options: ResolveModelOptions = {}): ModelLocation {
  const trimmed = uri?.trim() ?? '';
  if (trimmed === '') {
    const dir = artifactCacheDir(options.env);
    return { uri: dir, read: readModelFileFromDir(dir), localDir: dir };
  }
  const path = localPathOf(trimmed);
  if (path !== undefined) return { uri: trimmed, read: readModelFileFromDir(path), localDir: resolve(path) };
  return { uri: trimmed, read: readRemote(trimmed, options) };
}

/** Where a run's model is read from: the local cache for the packaged artifact, else its URI. */
export function locateModel(ref: ModelRef, options: ResolveModelOptions = {}): ModelLocation {
  return resolveModelLocation(ref.kind === 'uri' ? ref.uri : undefined, options);
}

/**
 * A remote model's reader, opening its store on the first read: the stores' configuration (zod)
 * stays out of an engine thread that reads a local model, which is ~80 ms of every start.
 */
function readRemote(uri: string, options: ResolveModelOptions): ReadModelFile {
  let reader: Promise<ReadModelFile> | undefined;
  return async (relativePath) => {
    reader ??= (async () => {
      const open = options.openStore ?? (await import('../shared/storage/open-store.ts')).openStore;
      return readModelFileFromStore(uri, open(uri), options.env);
    })();
    return (await reader)(relativePath);
  };
}
