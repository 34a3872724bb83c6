import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Queue } from 'bullmq';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ErrorCode } from '../shared/errors.ts';
import type { PipelineObserver } from './image-pipeline.ts';

/**
 * Prometheus metrics of one worker process, served on /metrics (see startMetricsServer).
 *
 * Every name starts with `resnet_batch_`. What each answers:
 * - images_total{status}            throughput and error rate (rate() over it)
 * - image_errors_total{code}        why images fail: the ImageError code (NOT_FOUND, DECODE_FAILED...)
 * - batch_duration_seconds          latency of one engine call (histogram); batch_images_total its images
 * - stage_seconds_total{stage}      where the time goes: fetch_decode (summed per image, overlaps
 *                                   infer because it runs ahead), infer, write (the .npy + Parquet)
 * - shards_total{status}            shard attempts that completed (ok) or threw (error, with code)
 * - engine_info{engine}             1 for the engine this process runs (tfjs-node-gpu, ...)
 * - queue_jobs{state}               shard queue depth (waiting, active, delayed, failed), read from
 *                                   Redis at scrape time; queue_reachable 0 when that read failed
 * plus prom-client's default process metrics (CPU, memory, event-loop lag, GC).
 */
export interface WorkerMetrics extends Required<PipelineObserver> {
  readonly registry: Registry;
  /** One image's result, as processImages yields it. */
  recordImage(result: { status: 'ok' | 'error'; code?: ErrorCode }): void;
  /** Seconds spent writing one shard's outputs. */
  recordWrite(seconds: number): void;
  /** One shard attempt ended: `error` with the error's code when it threw. */
  recordShard(status: 'ok' | 'error', code?: ErrorCode): void;
  /** The engine this process runs; replaces any earlier one. */
  setEngine(name: string): void;
}

export interface WorkerMetricsOptions {
  /** The shard queue whose depth is reported. Default none (no queue_jobs series). */
  queue?: Queue;
  /**
   * How long a scrape waits for the queue counts, in ms. Default 2000. Under Prometheus's usual
   * 10 s scrape timeout, so a Redis outage shows as queue_reachable 0 instead of a failed scrape.
   */
  queueTimeoutMs?: number;
  /** Include prom-client's process metrics. Default true; tests that make several registries turn it off. */
  processMetrics?: boolean;
}

/** Queue states reported by queue_jobs. Delayed shards are those waiting out a retry backoff. */
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/**
 * Engine calls last from tens of milliseconds (a small GPU batch) to a minute (32 images on wasm),
 * so the buckets span that range.
 */
const BATCH_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createWorkerMetrics(options: WorkerMetricsOptions = {}): WorkerMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const { images, imageErrors, batchDuration, batchImages, stageSeconds, shards, engineInfo } =
    registerPipelineMetrics(registers);
  if (options.queue) registerQueueDepth(options.queue, options.queueTimeoutMs ?? 2000, registers);

  return {
    registry,
    recordImage(result) {
      images.inc({ status: result.status });
      if (result.status === 'error') imageErrors.inc({ code: result.code ?? 'UNKNOWN' });
    },
    onPrepared(seconds) {
      stageSeconds.inc({ stage: 'fetch_decode' }, seconds);
    },
    onBatch({ size, inferSeconds }) {
      batchDuration.observe(inferSeconds);
      batchImages.inc(size);
      stageSeconds.inc({ stage: 'infer' }, inferSeconds);
    },
    recordWrite(seconds) {
      stageSeconds.inc({ stage: 'write' }, seconds);
    },
    recordShard(status, code) {
      shards.inc({ status, code: status === 'ok' ? '' : (code ?? 'UNKNOWN') });
    },
    setEngine(name) {
      engineInfo.reset();
      engineInfo.set({ engine: name }, 1);
    },
  };
}

/**
 * The series of images, batches, stages, shards and the engine (see WorkerMetrics). The stages and
 * image statuses are there at 0 from the first scrape, before the first image.
 */
function registerPipelineMetrics(registers: Registry[]) {
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers });
  const images = counter('resnet_batch_images_total', 'Images processed, by status (ok or error)', ['status']);
  const imageErrors = counter('resnet_batch_image_errors_total', 'Images that failed, by error code', ['code']);
  const batchDuration = new Histogram({
    name: 'resnet_batch_batch_duration_seconds',
    help: 'Seconds per engine call (one batch)',
    buckets: BATCH_BUCKETS,
    registers,
  });
  const batchImages = counter('resnet_batch_batch_images_total', 'Images sent to the engine');
  const stageSeconds = counter(
    'resnet_batch_stage_seconds_total',
    'Seconds by stage: fetch_decode (per image, overlaps infer), infer, write',
    ['stage'],
  );
  const shards = counter('resnet_batch_shards_total', 'Shard attempts that ended, by status and error code', [
    'status',
    'code',
  ]);
  const engineInfo = new Gauge({
    name: 'resnet_batch_engine_info',
    help: 'The inference engine this worker runs (value 1)',
    labelNames: ['engine'],
    registers,
  });
  for (const stage of ['fetch_decode', 'infer', 'write']) stageSeconds.inc({ stage }, 0);
  for (const status of ['ok', 'error']) images.inc({ status }, 0);
  return { images, imageErrors, batchDuration, batchImages, stageSeconds, shards, engineInfo };
}

function registerQueueDepth(queue: Queue, timeoutMs: number, registers: Registry[]): void {
  // The registry collects all metrics at once, so both gauges share one read per scrape.
  let reading: Promise<void> | undefined;
  const refresh = (): Promise<void> => (reading ??= read().finally(() => (reading = undefined)));
  const reachable = new Gauge({
    name: 'resnet_batch_queue_reachable',
    help: '1 when this scrape read the queue counts from Redis, 0 when it failed or timed out',
    registers,
    collect: refresh,
  });
  const jobs = new Gauge({
    name: 'resnet_batch_queue_jobs',
    help: 'Jobs in the shard queue by state, read at scrape time',
    labelNames: ['state'],
    registers,
    collect: refresh,
  });

  async function read(): Promise<void> {
    try {
      const counts = await withTimeout(queue.getJobCounts(...QUEUE_STATES), timeoutMs);
      for (const state of QUEUE_STATES) jobs.set({ state }, counts[state] ?? 0);
      reachable.set(1);
    } catch {
      // Stale counts would look like a stuck queue; no series at all is the honest answer.
      jobs.reset();
      reachable.set(0);
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  promise.catch(() => undefined); // a late rejection after the timeout must not go unhandled
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface MetricsServer {
  /** The port it listens on (the one asked for, or the one the OS picked for 0 in tests). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves the registry on GET /metrics over plain HTTP (Prometheus scrapes pods directly; the
 * port should not be exposed outside the cluster), plus the GET handlers in `routes` (the health
 * endpoints of worker-health.ts). Anything else is 404.
 */
export async function startMetricsServer(
  registry: Registry,
  listen: { port: number; host?: string },
  routes: Readonly<Record<string, RequestListener>> = {},
): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = request.url?.split('?')[0] ?? '';
    // hasOwn: a path such as /constructor must not find Object.prototype's members.
    const route = request.method === 'GET' && Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (route) {
      route(request, response);
      return;
    }
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are on /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) =>
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
