import type { InferenceEngine } from '../shared/inference/engine.ts';
import type { CarriedColumn } from '../shared/output/columns.ts';
import type { ImageRef, ShardJob } from '../shared/queue/job-payload.ts';
import { shardDigest } from '../shared/run/shard-digest.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import type { DecodeOptions } from './decode-image.ts';
import { fetchImage, requireNameable } from './fetch-image.ts';
import { type ImageResult, type PipelineObserver, processImages } from './image-pipeline.ts';
import {
  type CommittedShard,
  ConflictingCommitError,
  commitShard,
  LockLostError,
  readCommitted,
  type ShardLease,
} from './shard-commit.ts';
import { type FetchedFacts, shardParts } from './shard-parts.ts';
import type { WorkerMetrics } from './worker-metrics.ts';

export interface ShardContext {
  engine: InferenceEngine;
  labels: readonly string[];
  modelId: string;
  /** Store for a URI (input images and the output may live in different stores). */
  storeFor(uri: string): ObjectStore;
  batchSize: number;
  maxImageBytes: number;
  /** Longest wait for one image's bytes, in ms; past it the image is a TIMEOUT row (FETCH_TIMEOUT_MS). */
  fetchTimeoutMs: number;
  decode?: DecodeOptions;
  /** Called after each batch with the number of the shard's images done so far, and of all. */
  onProgress?(done: number, total: number): Promise<void> | void;
  /** Where image results and stage timings are counted (the worker's /metrics). Default none. */
  metrics?: WorkerMetrics;
  /** The run's carried columns (RunRecord.carriedColumns), in every part with the same types. */
  carriedColumns: readonly CarriedColumn[];
  /** This worker's hold on the shard (shard-commit.ts); default: held for ever (tests, bench). */
  lease?: ShardLease;
  /** When the run's first attempt started (ISO 8601 UTC), kept in the commit marker; default none. */
  runStartedAt?: string;
}

/** A lease that is never lost, for callers outside the queue (bench/soak.ts, tests). */
const HELD: ShardLease = { signal: new AbortController().signal, confirm: async () => undefined };

export interface ShardOutcome {
  ok: number;
  error: number;
  /** True when the shard was found committed on storage and nothing was processed. */
  alreadyCommitted: boolean;
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
 * One shard, start to finish: unless it is already committed on storage, fetch, decode and infer
 * every image (overlapped, see image-pipeline.ts), then commit its three parts (shard-commit.ts).
 * Keys depend only on run and shard; the lease is checked between batches and before each write,
 * so a worker that lost the shard stops and writes nothing more.
 */
export async function processShard(job: ShardJob, context: ShardContext): Promise<ShardOutcome> {
  const lease = context.lease ?? HELD;
  const store = context.storeFor(job.output);
  const started = performance.now();
  const timings: ShardTimings = { infer: 0, engineWait: 0, write: 0, total: 0 };
  const inputsDigest = shardDigest(job.images);
  const committed = await readCommitted(store, job);
  if (committed !== null) return finished(checkSameInputs(job, committed, inputsDigest), true, timings, started);

  const fetched = new Map<ImageRef, FetchedFacts>();
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
  for await (const result of processImages(fetchTasks(job, context, fetched), {
    engine: context.engine,
    labels: context.labels,
    batchSize: context.batchSize,
    readAhead: context.batchSize,
    decode: context.decode,
    observer,
  })) {
    if (lease.signal.aborted) throw new LockLostError(`shard ${job.shard} of run ${job.run}`);
    results.push(result);
    context.metrics?.recordImage(result);
    if (results.length % context.batchSize === 0) await context.onProgress?.(results.length, job.images.length);
  }

  const parts = shardParts(results, fetched, {
    modelId: context.modelId,
    engineName: context.engine.name,
    width: context.engine.embeddingSize,
    normalize: job.normalize,
    processedAt: new Date(),
  });
  const writeStarted = performance.now();
  const outcome = await commitShard(
    store,
    job,
    parts,
    context.carriedColumns,
    lease,
    inputsDigest,
    context.runStartedAt,
  );
  timings.write = (performance.now() - writeStarted) / 1000;
  context.metrics?.recordWrite(timings.write);
  await context.onProgress?.(job.images.length, job.images.length);
  return finished(outcome, false, timings, started);
}

function finished(
  committed: CommittedShard,
  alreadyCommitted: boolean,
  timings: ShardTimings,
  started: number,
): ShardOutcome {
  timings.total = (performance.now() - started) / 1000;
  return { ok: committed.ok, error: committed.error, alreadyCommitted, timings };
}

/** A shard committed before this attempt counts only if it was committed for the same inputs. */
function checkSameInputs(job: ShardJob, committed: CommittedShard, inputsDigest: string): CommittedShard {
  if (committed.inputsDigest !== inputsDigest) {
    throw new ConflictingCommitError(job, committed);
  }
  return committed;
}

/** The fetch of each image, recording what it read (see shard-parts.ts for how rows use it). */
function fetchTasks(job: ShardJob, context: ShardContext, fetched: Map<ImageRef, FetchedFacts>) {
  return job.images.map((image) => ({
    key: image,
    fetch: async () => {
      requireNameable(image.uri);
      const read = await fetchImage(context.storeFor(image.uri), image, context.maxImageBytes, context.fetchTimeoutMs);
      fetched.set(image, { size: read.body.length, etag: read.info.etag });
      return read.body;
    },
  }));
}
