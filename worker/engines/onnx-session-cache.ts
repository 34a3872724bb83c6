import { createHash } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, cpus, platform } from 'node:os';
import type * as ort from 'onnxruntime-node';

/**
 * ONNX Runtime optimises a graph each time a session opens it: constant folding, fusions and, on
 * the CPU, a data layout for the machine's vector units (NCHWc). For ResNet-50 that is about half
 * of the ~0.6 s a session takes to open on 2 cores, paid at every worker start (issue 12: start-up
 * under 2 s). So the CPU engine saves the optimised graph on first open and later opens it as is,
 * with optimisation off:
 *
 *   <graph>.ort-<key>.onnx    key: sha256 of the ONNX Runtime version, OS, architecture, CPU model
 *
 * ONNX Runtime warns that a graph optimised with the CPU layout "should only be used in the same
 * environment it was optimised in", hence the key: a cache folder shared by different hosts
 * (RESNET_BATCH_CACHE on a shared volume) keeps one copy per kind of host. The file is written
 * under a temporary name and renamed, so a reader never sees half of it; one that fails to open
 * is deleted and the graph optimised again.
 */
export async function openOptimizedCpuSession(
  runtime: typeof ort,
  graphPath: string,
  options: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession> {
  const optimizedPath = `${graphPath}.ort-${hostKey()}.onnx`;
  try {
    return await runtime.InferenceSession.create(optimizedPath, { ...options, graphOptimizationLevel: 'disabled' });
  } catch {
    await rm(optimizedPath, { force: true }); // missing (first open), or unreadable: made again below
  }
  const temporary = `${optimizedPath}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
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

function hostKey(): string {
  const runtimeVersion = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string })
    .version;
  return createHash('sha256')
    .update(JSON.stringify([runtimeVersion, platform(), arch(), cpus()[0]?.model ?? 'unknown']))
    .digest('hex')
    .slice(0, 16);
}
