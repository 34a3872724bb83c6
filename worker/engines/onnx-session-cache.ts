import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, cpus, platform } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { runtimeCacheRoot } from '../../model/model-cache.ts';

/**
 * ONNX Runtime optimises a graph each time a session opens it: constant folding, fusions and, on
 * the CPU, a data layout for the machine's vector units (NCHWc). For ResNet-50 that is about half
 * of the ~0.6 s a session takes to open on 2 cores, paid at every worker start (issue 12: start-up
 * under 2 s). So the CPU engine saves the optimised graph on first open and later opens it as is,
 * with optimisation off:
 *
 *   <graph>.ort-<key>.ort    key: sha256 of the ONNX Runtime version, OS, architecture, CPU model
 *
 * The copy is in ONNX Runtime's own format (flatbuffers), opened from bytes this process reads
 * and keeps, which the session uses in place, weights included (use_ort_model_bytes_directly and
 * _for_initializers): no protobuf parse and no second 100 MB copy of the weights. That halves the
 * open on hosts where touching fresh memory is slow (measured on a VM: 750 ms -> 430 ms).
 *
 * ONNX Runtime warns that a graph optimised with the CPU layout "should only be used in the same
 * environment it was optimised in", hence the key: a cache folder shared by different hosts
 * (RESNET_BATCH_CACHE on a shared volume) keeps one copy per kind of host. The file is written
 * under a temporary name and renamed, so a reader never sees half of it; one that fails to open
 * is deleted and the graph optimised again.
 *
 * Next to the graph when that folder is writable, else in the runtime cache (an image's build-time
 * cache is read-only to its worker: model/model-cache.ts); where neither is, the session opens
 * optimised in memory as before, and nothing is saved.
 */
export async function openOptimizedCpuSession(
  runtime: typeof ort,
  graphPath: string,
  options: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession> {
  const name = `${basename(graphPath)}.ort-${hostKey()}.ort`;
  const candidates = [...new Set([join(dirname(graphPath), name), join(runtimeCacheRoot(), 'onnx', name)])];
  for (const optimizedPath of candidates) {
    try {
      return await openSavedSession(runtime, optimizedPath, options);
    } catch {
      // Missing (first open), or unreadable: deleted if we may, and made again below.
      await rm(optimizedPath, { force: true }).catch(() => undefined);
    }
  }
  const optimizedPath = await firstWritable(candidates);
  if (optimizedPath === undefined) return runtime.InferenceSession.create(graphPath, options);
  // The .ort extension is what makes ONNX Runtime write its own format.
  const temporary = `${optimizedPath}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp.ort`;
  const session = await runtime.InferenceSession.create(graphPath, {
    ...options,
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: temporary,
    // Errors only: saving a CPU-layout graph logs the "same environment" warning the key answers.
    logSeverityLevel: 3,
  });
  await rename(temporary, optimizedPath).catch(() => rm(temporary, { force: true }));
  return session;
}

/**
 * The session reads its weights from `bytes` for as long as it lives (ONNX Runtime keeps a pointer,
 * not a copy), so the bytes are tied to the session object and go when it does.
 */
const modelBytesOfSession = new WeakMap<ort.InferenceSession, Buffer>();

async function openSavedSession(
  runtime: typeof ort,
  path: string,
  options: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession> {
  const bytes = await readFile(path);
  const session = await runtime.InferenceSession.create(bytes, {
    ...options,
    graphOptimizationLevel: 'disabled',
    extra: { session: { use_ort_model_bytes_directly: '1', use_ort_model_bytes_for_initializers: '1' } },
  });
  modelBytesOfSession.set(session, bytes);
  return session;
}

/** The first path whose folder exists (or can be made) and this user may write. */
async function firstWritable(paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) {
    try {
      await mkdir(dirname(path), { recursive: true });
      await access(dirname(path), constants.W_OK);
      return path;
    } catch {
      // Read-only (an image's build-time cache): try the next.
    }
  }
  return undefined;
}

function hostKey(): string {
  const runtimeVersion = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string })
    .version;
  return createHash('sha256')
    .update(JSON.stringify([runtimeVersion, platform(), arch(), cpus()[0]?.model ?? 'unknown']))
    .digest('hex')
    .slice(0, 16);
}
