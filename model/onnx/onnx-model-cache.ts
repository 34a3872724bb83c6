/**
 * Generated ONNX graphs cached on local disk next to the fetched weights:
 *   <cache root>/onnx/<weights sha256>-<spec name>-v<ONNX_GENERATOR_VERSION>.onnx   fp32
 *   <cache root>/onnx/int8-<identity digest>.onnx                                 int8 (int8-artifact.ts)
 *   <same path>.sha256   (sha256 hex of the .onnx bytes)
 *   <same path>.verified.json   (the size, mtime and inode the digest was last checked at)
 * The name carries everything the bytes depend on (the weights, the spec, the generator), so a
 * file that exists is the right one; its digest catches a truncated or edited file, which is then
 * regenerated. Both files are written to a temporary name and renamed, so a reader never sees a
 * partial file, and two workers generating at once just write the same bytes twice.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fingerprint, recall, remember } from '../file-fingerprint.ts';
import { cacheRoot } from '../model-cache.ts';

/**
 * Bump when the generated graph changes for the same spec and weights (ops, names, folding), so
 * caches holding the old graph are not used.
 */
export const ONNX_GENERATOR_VERSION = 1;

/** Where the graph of `specName` with weights `weightsSha256` is cached. `root` defaults to cacheRoot() ($RESNET_BATCH_CACHE). */
export function onnxModelPath(weightsSha256: string, specName: string, root: string = cacheRoot()): string {
  return join(root, 'onnx', `${weightsSha256}-${specName}-v${ONNX_GENERATOR_VERSION}.onnx`);
}

/**
 * Where an int8 graph is cached: `<cache root>/onnx/int8-<identity digest>.onnx`, next to the fp32
 * graphs. The identity digest (int8-artifact.ts) covers the weights, the spec, the generator, the
 * calibration images and the quantization settings.
 */
export function int8ModelPath(identityDigest: string, root: string = cacheRoot()): string {
  return join(root, 'onnx', `int8-${identityDigest}.onnx`);
}

/**
 * The digest of the cached graph at `path` when it is there and intact, else undefined. The graph
 * is hashed once; later calls trust its size, mtime and inode (file-fingerprint.ts, memo
 * `<path>.verified.json`) instead of reading 100 MB at every worker start.
 */
export async function readCachedOnnxDigest(path: string): Promise<string | undefined> {
  const memo = `${path}.verified.json`;
  try {
    const before = await fingerprint([path]);
    const expected = (await readFile(`${path}.sha256`, 'utf8')).trim();
    if ((await recall(memo, [path])) === expected) return expected;
    const actual = sha256Hex(await readFile(path));
    if (actual !== expected) return undefined;
    await remember(memo, [path], before, actual);
    return actual;
  } catch {
    return undefined;
  }
}

/** Writes the graph and its digest sidecar atomically; returns the digest. */
export async function writeCachedOnnx(path: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256Hex(bytes);
  await mkdir(dirname(path), { recursive: true });
  // The model goes first: a sidecar without its model never exists, and a model without its
  // sidecar reads as missing and is regenerated.
  await writeAtomically(path, bytes);
  await writeAtomically(`${path}.sha256`, `${digest}\n`);
  await remember(`${path}.verified.json`, [path], await fingerprint([path]), digest);
  return digest;
}

async function writeAtomically(path: string, data: Uint8Array | string): Promise<void> {
  const temporary = `${path}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(temporary, data);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** sha256 hex of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
