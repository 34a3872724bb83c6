import type { IncomingMessage, ServerResponse } from 'node:http';
import { PREPROCESS } from '../model/preprocess-spec.ts';
import { describeError } from '../shared/errors.ts';
import type { InferenceEngine } from '../shared/inference/engine.ts';

/**
 * Liveness and readiness of one worker process, served beside /metrics on METRICS_PORT
 * (worker-metrics.ts startMetricsServer) for Compose healthchecks and Kubernetes probes:
 *
 * - GET /healthz: 200 while the process answers and Redis answers PING within `pingTimeoutMs`;
 *   503 otherwise. A worker that cannot reach Redis can take no shard and finish none, so a
 *   liveness probe that restarts it loses nothing (its shard goes back to the queue when its lock
 *   expires); probes should allow a Redis restart (failureThreshold x periodSeconds > a minute).
 * - GET /readyz: 200 once the model is loaded and the engine has run one warm-up batch (markReady);
 *   503 before that (model download, ONNX graph generation, the first CUDA kernels) and again
 *   from the first stop signal on (markStopping: the worker takes no new shard while it drains).
 *
 * Both answer a short text body saying why, for a human with curl. What is left out on purpose:
 * no check of object storage (a bucket outage fails shards, which retry; restarting workers would
 * not help) and no check of the engine after start (an engine that dies fails its shard, which
 * the shard's error already reports).
 */
export interface WorkerHealth {
  /** The model is loaded and warm: /readyz answers 200 from now on, until markStopping. */
  markReady(): void;
  /** A stop signal arrived: /readyz answers 503 again. */
  markStopping(): void;
  /** Request handlers by path, for startMetricsServer. */
  readonly routes: Readonly<Record<string, (request: IncomingMessage, response: ServerResponse) => void>>;
}

export interface WorkerHealthOptions {
  /** Resolves when Redis answered PING (the metrics connection's ping). */
  ping(): Promise<unknown>;
  /**
   * How long /healthz waits for PING, in ms. Default 2000: under the 5 s that Compose's and
   * Kubernetes' probe timeouts are set to here, so a hung Redis is a 503, not a probe timeout.
   */
  pingTimeoutMs?: number;
}

export function createWorkerHealth(options: WorkerHealthOptions): WorkerHealth {
  const timeoutMs = options.pingTimeoutMs ?? 2000;
  let state: 'loading' | 'ready' | 'stopping' = 'loading';
  const reply = (response: ServerResponse, status: 200 | 503, text: string): void => {
    response.writeHead(status, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end(`${text}\n`);
  };
  return {
    markReady: () => {
      if (state === 'loading') state = 'ready';
    },
    markStopping: () => {
      state = 'stopping';
    },
    routes: {
      '/healthz': (_request, response) => {
        pingWithin(options.ping, timeoutMs).then(
          () => reply(response, 200, 'ok: process alive, redis answers'),
          (error: unknown) => reply(response, 503, `redis unreachable: ${describeError(error)}`),
        );
      },
      '/readyz': (_request, response) => {
        if (state === 'ready') reply(response, 200, 'ready: model loaded, engine warm');
        else if (state === 'loading') reply(response, 503, 'not ready: loading the model or warming up the engine');
        else reply(response, 503, 'not ready: stopping, finishing the current shard');
      },
    },
  };
}

/**
 * Runs one batch of `batchSize` blank images through the engine and drops the result, so that
 * the first shard does not pay for the lazy set-up engines do on their first call (ONNX Runtime's
 * memory arena, CUDA kernel selection, TensorFlow's graph tracing) and readiness means what it
 * says. The batch size matters on GPUs: kernels are chosen per input shape.
 */
export async function warmUpEngine(engine: InferenceEngine, batchSize: number): Promise<void> {
  const size = PREPROCESS.cropSize;
  await engine.infer(new Float32Array(batchSize * size * size * 3), batchSize);
}

async function pingWithin(ping: () => Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const pinging = ping();
  pinging.catch(() => undefined); // a late rejection after the timeout must not go unhandled
  try {
    await Promise.race([
      pinging,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer to PING within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
