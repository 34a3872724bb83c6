import { availableParallelism } from 'node:os';

/**
 * How a worker splits the host's cores between the engine and decoding. Three pools matter:
 *
 * - ONNX Runtime's intra-op threads. The engine is the bottleneck (ResNet-50 costs ~25x the CPU
 *   of a 256/224 decode per image), so it gets every core; decoding takes its few percent by
 *   preemption. The engine runs on a worker thread of its own (engines/threaded-engine.ts), not
 *   on the libuv pool.
 * - libuv's pool (UV_THREADPOOL_SIZE, libuv's default 4): every sharp call runs on one of its
 *   threads, as do fs and dns. Recommended: cores + 2, at least 4, so that one decode per core runs
 *   at once with two threads left for fs and dns. libuv reads the variable once, when the pool
 *   starts, and Node's ESM loader starts it before the first line of bin/resnet-batch.js runs:
 *   it can only come from the environment (the Dockerfile, compose file or shell).
 * - libvips threads per sharp call (sharp.concurrency): as many as needed to fill the cores with
 *   the decodes the pool can run at once, cores / (pool - 1), at least 1. With one thread per image
 *   (the common case) decoding scales across images, the cheapest way for small photos.
 */
export interface ThreadCounts {
  cores: number;
  intraOpNumThreads: number;
  sharpConcurrency: number;
  /** The pool size this process got (UV_THREADPOOL_SIZE, or libuv's 4). */
  uvThreadpoolSize: number;
  /** What the formula asks for; log a hint when the pool is smaller. */
  recommendedUvThreadpoolSize: number;
}

export function threadCounts(
  cores: number = availableParallelism(),
  env: NodeJS.ProcessEnv = process.env,
): ThreadCounts {
  const fromEnv = Number(env.UV_THREADPOOL_SIZE);
  const uvThreadpoolSize = Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 4;
  return {
    cores,
    intraOpNumThreads: cores,
    sharpConcurrency: Math.max(1, Math.floor(cores / Math.max(1, uvThreadpoolSize - 1))),
    uvThreadpoolSize,
    recommendedUvThreadpoolSize: recommendedUvThreadpoolSize(cores),
  };
}

/** UV_THREADPOOL_SIZE for a host with `cores` cores: cores + 2, at least libuv's default 4. */
export function recommendedUvThreadpoolSize(cores: number): number {
  return Math.max(4, cores + 2);
}
