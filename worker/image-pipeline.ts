import { describeError, type ErrorCode, isImageErrorCode, ResnetBatchError } from '../shared/errors.ts';
import type { InferenceEngine } from '../shared/inference/engine.ts';
import { type DecodeOptions, decodeImage } from './decode-image.ts';
import { takeEngineTurn } from './engine-turns.ts';
import { type RankedLabel, rankLabels } from './rank-labels.ts';

/** One image to process: a key the caller uses to match results, and how to fetch its bytes. */
export interface ImageTask<K> {
  key: K;
  fetch(): Promise<Buffer>;
}

export type ImageResult<K> = ImageOk<K> | ImageFailed<K>;

export interface ImageOk<K> {
  key: K;
  status: 'ok';
  width: number;
  height: number;
  embedding: Float32Array;
  top: RankedLabel[];
}

export interface ImageFailed<K> {
  key: K;
  status: 'error';
  /** Stable code: one of shared/error-codes.ts IMAGE_ERROR_CODES, or HTTP_<status> (isImageErrorCode). */
  code: ErrorCode;
  /** The reason in words, as written into the error column. */
  error: string;
}

export interface ImagePipelineOptions {
  engine: InferenceEngine;
  labels: readonly string[];
  /** Images per engine call. Default 32. Larger batches help GPUs; on CPU 8-32 is flat. */
  batchSize?: number;
  /** Entries of the top-k per image. Default 5. */
  topK?: number;
  /**
   * Images fetched and decoded ahead of the engine, in flight at once. Default 2 * batchSize:
   * the next batch is ready when the engine finishes the current one, and memory stays bounded
   * (a decoded 224x224 image is 602 KB).
   */
  readAhead?: number;
  decode?: DecodeOptions;
  /** Per-image errors that are not ResnetBatchError (storage outages) are rethrown, failing the
   * whole shard so it is retried; this decides which errors count as the image's own fault. */
  isImageError?: (error: unknown) => boolean;
  /** Timing hooks for metrics (worker/worker-metrics.ts). Default none. */
  observer?: PipelineObserver;
}

/**
 * What processImages reports as it goes, for metrics. Fetch+decode of one image overlaps the
 * engine's work on the previous batch, so their seconds add up to more than the wall time.
 */
export interface PipelineObserver {
  /** After one image's fetch and decode (or its per-image failure): seconds for that image. */
  onPrepared?(seconds: number): void;
  /**
   * After one engine call: images in it, seconds the call took (queueing behind other shards'
   * calls excluded), and seconds the engine sat idle before it, waiting for input (engine-turns.ts).
   */
  onBatch?(batch: { size: number; inferSeconds: number; waitSeconds: number }): void;
}

interface Prepared<K> {
  key: K;
  pixels?: Float32Array;
  width?: number;
  height?: number;
  failure?: ImageFailed<K>;
}

function isOwnImageError(error: unknown): boolean {
  return error instanceof ResnetBatchError && isImageErrorCode(error.code);
}

async function prepare<K>(task: ImageTask<K>, options: ImagePipelineOptions): Promise<Prepared<K>> {
  const started = performance.now();
  try {
    const bytes = await task.fetch();
    const decoded = await decodeImage(bytes, options.decode);
    return { key: task.key, pixels: decoded.pixels, width: decoded.width, height: decoded.height };
  } catch (error) {
    if (!(options.isImageError ?? isOwnImageError)(error)) throw error;
    const code = error instanceof ResnetBatchError ? error.code : 'DECODE_FAILED';
    return { key: task.key, failure: { key: task.key, status: 'error', code, error: describeError(error) } };
  } finally {
    options.observer?.onPrepared?.((performance.now() - started) / 1000);
  }
}

/**
 * Fetch -> decode -> infer for a stream of images, yielding one result per input in input order.
 *
 * Fetch and decode run ahead of the engine (`readAhead` images in flight; sharp and the storage
 * clients work off the main thread), so while the engine runs batch N the images of batch N+1 are
 * already being prepared. A per-image failure becomes an error result and never fails its
 * neighbours; anything else (storage outage, engine failure) is thrown to the caller.
 */
export async function* processImages<K>(
  tasks: Iterable<ImageTask<K>>,
  options: ImagePipelineOptions,
): AsyncGenerator<ImageResult<K>> {
  const batchSize = options.batchSize ?? 32;
  const readAhead = Math.max(batchSize, options.readAhead ?? batchSize * 2);
  const iterator = tasks[Symbol.iterator]();
  const inFlight: Promise<Prepared<K>>[] = [];
  const refill = (): void => {
    while (inFlight.length < readAhead) {
      const next = iterator.next();
      if (next.done) return;
      const prepared = prepare(next.value, options);
      prepared.catch(() => undefined); // observed when awaited in order; avoids unhandled rejections meanwhile
      inFlight.push(prepared);
    }
  };

  refill();
  const started = performance.now();
  while (inFlight.length > 0) {
    const batch = await Promise.all(inFlight.splice(0, batchSize));
    refill();
    yield* await inferBatch(batch, options, started);
  }
}

async function inferBatch<K>(
  batch: Prepared<K>[],
  options: ImagePipelineOptions,
  pipelineStarted: number,
): Promise<ImageResult<K>[]> {
  const { engine } = options;
  const decoded = batch.filter((item) => item.pixels !== undefined);
  const outputs =
    decoded.length === 0
      ? undefined
      : await timedInfer(concatPixels(decoded), decoded.length, options, pipelineStarted);
  let row = 0;
  return batch.map((item): ImageResult<K> => {
    if (item.failure || !outputs || item.pixels === undefined) {
      return item.failure ?? { key: item.key, status: 'error', code: 'DECODE_FAILED', error: 'image was not decoded' };
    }
    const result: ImageOk<K> = {
      key: item.key,
      status: 'ok',
      width: item.width ?? 0,
      height: item.height ?? 0,
      embedding: outputs.embeddings.slice(row * engine.embeddingSize, (row + 1) * engine.embeddingSize),
      top: rankLabels(outputs.probabilities, row, engine.classCount, options.labels, options.topK ?? 5),
    };
    row += 1;
    return result;
  });
}

/** Calls on one engine from concurrent pipelines (shards in flight) take turns: see engine-turns.ts. */
async function timedInfer(
  pixels: Float32Array,
  size: number,
  options: ImagePipelineOptions,
  pipelineStarted: number,
): ReturnType<InferenceEngine['infer']> {
  const turn = await takeEngineTurn(options.engine, pipelineStarted, () => options.engine.infer(pixels, size));
  options.observer?.onBatch?.({ size, inferSeconds: turn.inferSeconds, waitSeconds: turn.waitSeconds });
  return turn.value;
}

function concatPixels(items: Prepared<unknown>[]): Float32Array {
  const size = items[0]?.pixels?.length ?? 0;
  const batch = new Float32Array(size * items.length);
  items.forEach((item, index) => {
    batch.set(item.pixels ?? new Float32Array(size), index * size);
  });
  return batch;
}
