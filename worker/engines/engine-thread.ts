// The thread side of threaded-engine.ts: opens the engine with openEngine, then answers infer
// and dispose messages one at a time. Errors go back as plain fields (class, code, retryable,
// message), since Error subclasses do not survive postMessage.
import { parentPort, workerData } from 'node:worker_threads';
import { ResnetBatchError } from '../../shared/errors.ts';
import type { InferenceEngine } from '../../shared/inference/engine.ts';
import { createLogger } from '../../shared/observability/logger.ts';
import { openEngine } from './open-engine.ts';
import type { EngineReply, EngineRequest, SerializedError, ThreadOptions } from './threaded-engine.ts';

const port = parentPort!;

function serialize(error: unknown): SerializedError {
  if (error instanceof ResnetBatchError)
    return { name: error.name, code: error.code, retryable: error.retryable, message: error.message };
  return { name: 'Error', message: error instanceof Error ? error.message : String(error) };
}

async function serve(engine: InferenceEngine, request: EngineRequest): Promise<EngineReply> {
  try {
    if (request.type === 'dispose') {
      await engine.dispose();
      return { id: request.id, type: 'disposed' };
    }
    const output = await engine.infer(request.pixels, request.count);
    return { id: request.id, type: 'output', output };
  } catch (error) {
    return { id: request.id, type: 'error', error: serialize(error) };
  }
}

try {
  const { logLevel, ...options } = workerData as ThreadOptions;
  const { engine, model } = await openEngine({ ...options, logger: createLogger('worker', logLevel) });
  let queue = Promise.resolve();
  port.on('message', (request: EngineRequest) => {
    queue = queue.then(async () => port.postMessage(await serve(engine, request)));
  });
  port.postMessage({
    id: 0,
    type: 'ready',
    name: engine.name,
    embeddingSize: engine.embeddingSize,
    classCount: engine.classCount,
    model,
  } satisfies EngineReply);
} catch (error) {
  port.postMessage({ id: 0, type: 'error', error: serialize(error) } satisfies EngineReply);
}
