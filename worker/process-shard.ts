import type { InferenceEngine } from '../shared/engine.ts';
import type { ImageRef, ShardJob } from '../shared/job-payload.ts';
import type { CarriedColumn } from '../shared/output/columns.ts';
import {
  EMBEDDINGS_CONTENT_TYPE,
  embeddingsKey,
  errorsKey,
  metadataKey,
  PARQUET_CONTENT_TYPE,
} from '../shared/output/output-format.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import type { DecodeOptions } from './decode-image.ts';
import { fetchImage } from './fetch-image.ts';
import { type ImageResult, type PipelineObserver, processImages } from './image-pipeline.ts';
import { type FetchedFacts, type ShardParts, shardParts } from './shard-parts.ts';
import type { WorkerMetrics } from './worker-metrics.ts';
import { encodeNpy } from './write-embeddings.ts';
import { encodeErrorsParquet, encodeMetadataParquet } from './write-parts.ts';

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
  /** The run's carried columns (RunRecord.carriedColumns), in every part with the same types. */
  carriedColumns: readonly CarriedColumn[];
}

export interface ShardOutcome {
  ok: number;
  error: number;
  embeddingsUri: string;
  metadataUri: string;
  errorsUri: string;
  /** Where the shard's time went, in seconds; kept in the job's return value for `npm run bench`. */
  timings: ShardTimings;
}

export interface ShardTimings {
  /** Inside engine calls. */
  infer: number;
  /** Engine idle between its calls, the first one included: waiting for fetch and decode. */
  engineWait: number;
  /** Writing the .npy and the two Parquet parts. */
  write: number;
  /** The whole of processShard. */
  total: number;
}

/**
 * One shard, start to finish: fetch, decode and infer every image (overlapped, see
 * image-pipeline.ts), then write its three parts (writeShardParts). Keys depend only on run and
 * shard, so a retry overwrites the same objects.
 */
export async function processShard(job: ShardJob, context: ShardContext): Promise<ShardOutcome> {
  const fetched = new Map<ImageRef, FetchedFacts>();
  const tasks = fetchTasks(job, context, fetched);
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

  const parts = shardParts(results, fetched, {
    modelId: context.modelId,
    engineName: context.engine.name,
    width: context.engine.embeddingSize,
    normalize: job.normalize,
    processedAt: new Date(),
  });
  const writeStarted = performance.now();
  const written = await writeShardParts(context.storeFor(job.output), job, parts, context.carriedColumns);
  timings.write = (performance.now() - writeStarted) / 1000;
  context.metrics?.recordWrite(timings.write);
  await context.onProgress?.(1);
  timings.total = (performance.now() - started) / 1000;
  return { ok: parts.metadata.length, error: parts.errors.length, ...written, timings };
}

/**
 * Writes the shard's parts in commit order: the .npy, then the metadata part (so a reader never
 * sees metadata without its vectors), then the errors part, the commit marker, last.
 */
async function writeShardParts(
  store: ObjectStore,
  job: ShardJob,
  parts: ShardParts,
  carried: readonly CarriedColumn[],
): Promise<Pick<ShardOutcome, 'embeddingsUri' | 'metadataUri' | 'errorsUri'>> {
  const embeddingsUri = embeddingsKey(job.output, job.run, job.shard);
  const metadataUri = metadataKey(job.output, job.run, job.shard);
  const errorsUri = errorsKey(job.output, job.run, job.shard);
  const npy = encodeNpy(parts.vectors, parts.metadata.length, parts.width);
  await store.write(embeddingsUri, npy, { contentType: EMBEDDINGS_CONTENT_TYPE });
  await store.write(metadataUri, encodeMetadataParquet(parts.metadata, carried), { contentType: PARQUET_CONTENT_TYPE });
  const marker = encodeErrorsParquet(parts.errors, carried, { shard: job.shard, ok: parts.metadata.length });
  await store.write(errorsUri, marker, { contentType: PARQUET_CONTENT_TYPE });
  return { embeddingsUri, metadataUri, errorsUri };
}

/** The fetch of each image, recording what it read (see shard-parts.ts for how rows use it). */
function fetchTasks(job: ShardJob, context: ShardContext, fetched: Map<ImageRef, FetchedFacts>) {
  return job.images.map((image) => ({
    key: image,
    fetch: async () => {
      const bytes = await fetchImage(context.storeFor(image.uri), image, context.maxImageBytes);
      fetched.set(image, { size: bytes.length });
      return bytes;
    },
  }));
}
