import { Worker } from 'node:worker_threads';
import { type ErrorCode, ResnetBatchError } from '../../shared/errors.ts';
import type { BatchOutput, InferenceEngine } from '../../shared/inference/engine.ts';
import { MODULE_EXTENSION } from '../../shared/source-location.ts';
import type { LoadedModelInfo, OpenEngineOptions } from './open-engine.ts';

/**
 * An engine that runs on a worker thread of its own. onnxruntime-node and the tfjs backends run
 * a batch synchronously on the calling JS thread (a 32-image ResNet-50 batch holds it for about a
 * second), so on the worker's main thread every fetch, decode hand-off and output upload would
 * stall until the batch ends. On its own thread the engine keeps the cores busy while the main
 * thread keeps the next batches coming and the finished shards uploading.
 *
 * The cost is one copy of each batch's pixels into the thread (19 MB for 32 images, a few
 * milliseconds) and of its outputs back: the caller's arrays are never detached.
 */
export async function openEngineInThread(
  options: OpenEngineOptions,
): Promise<{ engine: InferenceEngine; model: LoadedModelInfo }> {
  const { logger, onProgress: _onProgress, ...threadOptions } = options;
  const thread = new Worker(BOOTSTRAP, {
    eval: true,
    // The thread logs through a logger of its own, at this one's level.
    workerData: { ...threadOptions, logLevel: logger?.level } satisfies ThreadOptions,
    argv: [new URL(`./engine-thread${MODULE_EXTENSION}`, import.meta.url).href, import.meta.resolve('tsx/esm/api')],
  });
  const engine = new ThreadedEngine(thread);
  const ready = await engine.request<Extract<EngineReply, { type: 'ready' }>>({ type: 'open' });
  engine.describe(ready);
  return { engine, model: ready.model };
}

/**
 * The thread's entry, as a script. Compiled (dist/), the entry is plain JS. From the sources it is
 * TypeScript, and a process started with `--import tsx` passes that to its threads while one
 * started through bin/resnet-batch.js (tsx's register()) does not; so import it, and register
 * tsx first only where needed.
 */
const BOOTSTRAP = `
const { argv } = require('node:process');
const [entry, tsx] = argv.slice(2);
import(entry).catch(async (error) => {
  if (error?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
  (await import(tsx)).register();
  await import(entry + '?tsx'); // a new URL: the failed import above stays cached under the old one
});
`;

/** What the engine thread gets (engine-thread.ts): the options but the logger and progress callback (functions do not cross to a thread), and the log level. */
export type ThreadOptions = Omit<OpenEngineOptions, 'logger' | 'onProgress'> & { logLevel?: string };

export interface SerializedError {
  name: string;
  code?: ErrorCode;
  retryable?: boolean;
  message: string;
}

export type EngineRequest =
  | { id: number; type: 'infer'; pixels: Float32Array; count: number }
  | { id: number; type: 'dispose' };

export type EngineReply =
  | { id: number; type: 'ready'; name: string; embeddingSize: number; classCount: number; model: LoadedModelInfo }
  | { id: number; type: 'output'; output: BatchOutput }
  | { id: number; type: 'disposed' }
  | { id: number; type: 'error'; error: SerializedError };

class ThreadedEngine implements InferenceEngine {
  name = '';
  embeddingSize = 0;
  classCount = 0;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(reply: EngineReply): void; reject(error: Error): void }>();

  constructor(private readonly thread: Worker) {
    thread.on('message', (reply: EngineReply) => this.settle(reply));
    thread.on('error', (error) =>
      this.failAll(
        new ResnetBatchError('ENGINE_THREAD', `the engine thread failed: ${error.message}`, {
          retryable: true,
          cause: error,
        }),
      ),
    );
    thread.on('exit', (code) =>
      this.failAll(
        new ResnetBatchError('ENGINE_THREAD', `the engine thread exited (code ${code})`, { retryable: true }),
      ),
    );
  }

  describe(ready: { name: string; embeddingSize: number; classCount: number }): void {
    this.name = ready.name;
    this.embeddingSize = ready.embeddingSize;
    this.classCount = ready.classCount;
  }

  /** Sends one request ('open' only waits for the thread's ready message, id 0) and waits for its reply. */
  request<R extends EngineReply>(
    request: { type: 'open' } | Omit<Extract<EngineRequest, { type: 'infer' }>, 'id'> | { type: 'dispose' },
  ): Promise<R> {
    const id = request.type === 'open' ? 0 : this.nextId++;
    const reply = new Promise<EngineReply>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    if (request.type !== 'open') this.thread.postMessage({ ...request, id });
    return reply.then((settled) => {
      if (settled.type === 'error') throw rebuild(settled.error);
      return settled as R;
    });
  }

  async infer(pixels: Float32Array, count: number): Promise<BatchOutput> {
    return (await this.request<Extract<EngineReply, { type: 'output' }>>({ type: 'infer', pixels, count })).output;
  }

  async dispose(): Promise<void> {
    await this.request({ type: 'dispose' });
    await this.thread.terminate();
  }

  private settle(reply: EngineReply): void {
    this.waiting.get(reply.id)?.resolve(reply);
    this.waiting.delete(reply.id);
  }

  private failAll(error: Error): void {
    for (const pending of this.waiting.values()) pending.reject(error);
    this.waiting.clear();
  }
}

/** The thread's error as a ResnetBatchError with the same code and retry flag (its class does not cross threads). */
function rebuild(error: SerializedError): Error {
  if (error.code === undefined) return new Error(error.message);
  const rebuilt = new ResnetBatchError(error.code, error.message, { retryable: error.retryable ?? false });
  rebuilt.name = error.name;
  return rebuilt;
}
