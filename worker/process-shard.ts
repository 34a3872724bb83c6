import type { InferenceEngine } from '../shared/engine.ts';
import type { ImageRef, ShardJob } from '../shared/job-payload.ts';
import {
  EMBEDDINGS_CONTENT_TYPE,
  embeddingsKey,
  METADATA_CONTENT_TYPE,
  type MetadataRow,
  metadataKey,
} from '../shared/output/output-format.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import type { DecodeOptions } from './decode-image.ts';
import { fetchImage } from './fetch-image.ts';
import { type ImageResult, type PipelineObserver, processImages } from './image-pipeline.ts';
import type { WorkerMetrics } from './worker-metrics.ts';
import { encodeNpy } from './write-embeddings.ts';
import { encodeMetadataParquet } from './write-metadata.ts';

export interface ShardContext {
  engine: InferenceEngine;
  labels: readonly string[];
  modelId: string;
  /** Store for a URI (input images and the output may live in different stores). */
  storeFor(uri: string): ObjectStore;
  batchSize: number;
  maxImageBytes: number;
  decode?: DecodeOptions;
  /** Called after each batch with the share of the shard's images done, 0..1. */
  onProgress?(fraction: number): Promise<void> | void;
  /** Where image results and stage timings are counted (the worker's /metrics). Default none. */
  metrics?: WorkerMetrics;
}

export interface ShardOutcome {
  ok: number;
  error: number;
  embeddingsUri: string;
  metadataUri: string;
  /** Where the shard's time went, in seconds; kept in the job's return value for `npm run bench`. */
  timings: ShardTimings;
}

export interface ShardTimings {
  /** Inside engine calls. */
  infer: number;
  /** Engine idle between its calls, the first one included: waiting for fetch and decode. */
  engineWait: number;
  /** Writing the .npy and the Parquet file. */
  write: number;
  /** The whole of processShard. */
  total: number;
}

/**
 * One shard, start to finish: fetch, decode and infer every image (overlapped, see
 * image-pipeline.ts), then write the .npy and, after it, the Parquet metadata. Keys depend only on
 * run and shard, so a retry overwrites the same two objects; because the metadata goes last, a
 * present metadata file always has its embeddings beside it.
 */
export async function processShard(job: ShardJob, context: ShardContext): Promise<ShardOutcome> {
  const fetchedSizes = new Map<ImageRef, number>();
  const tasks = fetchTasks(job, context, fetchedSizes);
  const started = performance.now();
  const timings: ShardTimings = { infer: 0, engineWait: 0, write: 0, total: 0 };
  const observer: PipelineObserver = {
    onPrepared: (seconds) => context.metrics?.onPrepared(seconds),
    onBatch: (batch) => {
      timings.infer += batch.inferSeconds;
      timings.engineWait += batch.waitSeconds;
      context.metrics?.onBatch(batch);
    },
  };
  const results: ImageResult<ImageRef>[] = [];
  // One batch read ahead per shard: a worker runs two shards at once (worker-command.ts
  // shardsInFlight), so the engine still finds a batch ready, and memory holds two, not four.
  for await (const result of processImages(tasks, {
    engine: context.engine,
    labels: context.labels,
    batchSize: context.batchSize,
    readAhead: context.batchSize,
    decode: context.decode,
    observer,
  })) {
    results.push(result);
    context.metrics?.recordImage(result);
    if (results.length % context.batchSize === 0) await context.onProgress?.(results.length / job.images.length);
  }

  const processedAt = new Date();
  const okResults = results.filter((result) => result.status === 'ok');
  const width = context.engine.embeddingSize;
  const matrix = new Float32Array(okResults.length * width);
  okResults.forEach((result, row) => {
    matrix.set(result.embedding, row * width);
  });

  let nextRow = 0;
  const rows = results.map(
    (result): MetadataRow =>
      toRow(result, result.status === 'ok' ? nextRow++ : null, context, processedAt, fetchedSizes.get(result.key)),
  );

  const embeddingsUri = embeddingsKey(job.output, job.run, job.shard);
  const metadataUri = metadataKey(job.output, job.run, job.shard);
  const outputStore = context.storeFor(job.output);
  const writeStarted = performance.now();
  await outputStore.write(embeddingsUri, encodeNpy(matrix, okResults.length, width), {
    contentType: EMBEDDINGS_CONTENT_TYPE,
  });
  await outputStore.write(metadataUri, await encodeMetadataParquet(rows), { contentType: METADATA_CONTENT_TYPE });
  timings.write = (performance.now() - writeStarted) / 1000;
  context.metrics?.recordWrite(timings.write);
  await context.onProgress?.(1);
  timings.total = (performance.now() - started) / 1000;
  return { ok: okResults.length, error: results.length - okResults.length, embeddingsUri, metadataUri, timings };
}

/**
 * The fetch of each image, recording how many bytes it got. A manifest line need not give a size
 * (the job then says -1, see shared/job-payload.ts), and size_bytes must be a real size: the
 * fetched length is the truth; an image that could not be read at all (NOT_FOUND) and had no
 * listed size gets 0.
 */
function fetchTasks(job: ShardJob, context: ShardContext, fetchedSizes: Map<ImageRef, number>) {
  return job.images.map((image) => ({
    key: image,
    fetch: async () => {
      const bytes = await fetchImage(context.storeFor(image.uri), image, context.maxImageBytes);
      fetchedSizes.set(image, bytes.length);
      return bytes;
    },
  }));
}

function toRow(
  result: ImageResult<ImageRef>,
  embeddingRow: number | null,
  context: ShardContext,
  processedAt: Date,
  fetchedSize: number | undefined,
): MetadataRow {
  const common = {
    uri: result.key.uri,
    etag: result.key.etag,
    sizeBytes: fetchedSize ?? Math.max(result.key.size, 0),
    model: context.modelId,
    engine: context.engine.name,
    processedAt,
  };
  if (result.status === 'error') {
    return {
      ...common,
      width: null,
      height: null,
      status: 'error',
      error: `${result.code}: ${result.error}`,
      embeddingRow: null,
      topLabels: null,
      topIndices: null,
      topScores: null,
    };
  }
  return {
    ...common,
    width: result.width,
    height: result.height,
    status: 'ok',
    error: null,
    embeddingRow,
    topLabels: result.top.map((entry) => entry.label),
    topIndices: result.top.map((entry) => entry.index),
    topScores: result.top.map((entry) => entry.score),
  };
}
