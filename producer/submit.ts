import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type CheckedModel, checkModel } from '../model/check-model.ts';
import { type PipelineConfig, SHARD_QUEUE_NAME } from '../shared/config.ts';
import { resolveModelUri } from '../shared/inference/model-ref.ts';
import type { Precision } from '../shared/inference/precision.ts';
import type { Logger } from '../shared/observability/logger.ts';
import { queueTelemetry, startTracing } from '../shared/observability/telemetry.ts';
import { jobOptions } from '../shared/queue/job-options.ts';
import { DEFAULT_SHARD_SIZE } from '../shared/queue/job-payload.ts';
import { connectRedis, reachableRedisUrl } from '../shared/queue/redis-connection.ts';
import { enqueueFinalizer } from '../shared/run/enqueue-finalizer.ts';
import type { RunRecord } from '../shared/run/run-record.ts';
import { RunRegistry } from '../shared/run/run-registry.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import { openStore as openAnyStore } from '../shared/storage/open-store.ts';
import { normalizeUri } from '../shared/storage/uri.ts';
import { checkOutputWritable } from './check-output.ts';
import { type ClaimedRun, claimRun } from './claim-run.ts';
import { enqueueShards } from './enqueue-shards.ts';
import { checkBaseRun, filterUnchanged, type IncrementalBase, loadIncrementalBase } from './incremental-filter.ts';
import { type InputListing, openListing, type StoreOpener } from './list-inputs.ts';
import { checkRunId, newRunId } from './run-id.ts';
import { selectImages } from './select-images.ts';
import { checkShardSize, shardListing } from './shard-listing.ts';
import { noSkips, type SkipCounts, SkipTally } from './skip-tally.ts';

/**
 * `submit`: check everything, create (or find) the run record, then stream
 * list -> select -> shard -> enqueue, and close the listing. Nothing reaches the queue until
 * Redis answered, the input listed at least one object and the output took a test write, so a
 * bad flag or environment costs nothing to fix.
 *
 * Submitting a run id again with the same input and output is a resubmission: the listing is
 * redone (shard i holds the same images as long as the input is unchanged) and only shards that
 * are neither done nor already queued are added; a finished run is left alone entirely. The same
 * id with another input, output, model, precision or --since is refused (producer/claim-run.ts).
 *
 * With `since`, images unchanged since that finished run are skipped (incremental-filter.ts).
 */
export interface SubmitOptions {
  /** s3:// prefix, local folder or file, or a .txt/.jsonl manifest (see list-inputs.ts). */
  input: string;
  /** Root output URI; results go under `<output>/<run>/`. */
  output: string;
  /** Run id (RUN_ID_PATTERN); default a new sortable id (see run-id.ts). Reuse one to resume. */
  run?: string;
  /** Images per shard job, 1..MAX_SHARD_SIZE, default DEFAULT_SHARD_SIZE (256). Smaller shards spread a small run over more workers. */
  shardSize?: number;
  /** Model URI the workers load; default MODEL_URI, else the local cache (see shared/inference/model-ref.ts). */
  model?: string;
  /** Precision the workers run the model at (shared/inference/precision.ts); default PRECISION (fp32). */
  precision?: Precision;
  /**
   * Finished run to compare against: only images that are new, changed (another ETag) or not ok
   * there are processed, unless the model differs from that run's (then all are). Default none.
   */
  since?: string;
  /** L2-normalise the vectors (`--normalize`; RunManifest.embeddings.normalization). Default false. */
  normalize?: boolean;
  /** Name of the schedule firing this run, recorded in the run record. Set by the schedule consumer. */
  schedule?: string;
  /** The column of image URLs of a CSV or Parquet list (`--url-column`); default `url`, else `uri`. */
  urlColumn?: string;
}

export interface SubmitDeps {
  config: PipelineConfig;
  /** Redis to use instead of config.REDIS_URL (`run` passes its embedded server's URL). */
  redisUrl?: string;
  /** Store for a URI; default shared/storage/open-store.ts. */
  openStore?: StoreOpener;
  logger?: Logger;
  /** Called as the listing advances: after each page and each group of shards enqueued. */
  onProgress?: (progress: SubmitProgress) => void;
  /** Listing page size (default 1000). */
  pageSize?: number;
  now?: () => Date;
}

export interface SubmitProgress {
  run: string;
  /** Objects listed so far (before format selection). */
  listed: number;
  images: number;
  skipped: number;
  shards: number;
  enqueued: number;
}

export interface SubmitResult {
  run: string;
  /** Shards and images of the run (from the record when the run had already finished). */
  shards: number;
  images: number;
  skipped: number;
  skippedBy: SkipCounts;
  /** Shard jobs added by this call (0 for a resubmission of a finished run). */
  enqueued: number;
  resubmitted: boolean;
  /** True when every shard was already accounted for at the end of listing (the finaliser was queued). */
  complete: boolean;
  inputRoots: string[];
  /** The run's model and the digest of its weights (null when not checked: a finished run's resubmission). */
  model: { ref: string; weightsSha256: string | null };
}

interface Plan {
  run: string;
  redisUrl: string;
  /** The model named (or the default), checked before anything is written (model/check-model.ts). */
  checkedModel: CheckedModel;
  input: string;
  output: string;
  shardSize: number;
  requestedModel: string | undefined;
  requestedPrecision: Precision | undefined;
  since: string | undefined;
  normalize: boolean;
  schedule: string | undefined;
  urlColumn: string | undefined;
  openStore: StoreOpener;
  listing: InputListing;
}

export async function submitRun(options: SubmitOptions, deps: SubmitDeps): Promise<SubmitResult> {
  const tally = new SkipTally(deps.logger);
  const plan = await preflight(
    options,
    deps,
    'submit needs the Redis the workers use (or use `resnet-batch run`, which starts its own)',
    tally,
  );
  const redis = connectRedis(plan.redisUrl, deps.logger);
  const outputStore = plan.openStore(plan.output);
  try {
    const registry = new RunRegistry(redis, deps.config.QUEUE_PREFIX);
    const base = plan.since === undefined ? null : await checkBaseRun(registry, plan.since, deps.config.QUEUE_PREFIX);
    const claimed = await claimRun(registry, outputStore, {
      definition: {
        run: plan.run,
        input: plan.input,
        output: plan.output,
        model: plan.requestedModel,
        precision: plan.requestedPrecision,
        shard_size: plan.shardSize,
        normalize: plan.normalize,
        since: plan.since ?? null,
        input_roots: plan.listing.inputRoots,
        carried_columns: plan.listing.carriedColumns,
        url_column: plan.urlColumn ?? null,
      },
      defaultModel: resolveModelUri(undefined, deps.config),
      checkedModel: plan.checkedModel,
      defaultPrecision: deps.config.PRECISION,
      ...(plan.schedule === undefined ? {} : { schedule: plan.schedule }),
      now: deps.now?.() ?? new Date(),
    });
    const incremental =
      base === null
        ? null
        : await loadIncrementalBase(
            base,
            { model: claimed.model, precision: claimed.precision },
            registry,
            plan.openStore,
            deps.logger,
          );
    return await streamRun(plan, claimed, { redis, registry, deps, tally, incremental, outputStore });
  } finally {
    await plan.listing.close();
    await outputStore.close();
    await redis.quit().catch(() => redis.disconnect());
  }
}

/**
 * The checks of submit without submitting (`schedule add` runs them before saving a schedule):
 * Redis answers, the input lists at least one object, the output takes a test write (under
 * `<output>/<probeRun>/`). Returns the canonical input, output and model reference.
 */
export async function checkSubmission(
  options: SubmitOptions & { run: string },
  deps: SubmitDeps,
): Promise<{ input: string; output: string; model: string; precision: Precision; shardSize: number }> {
  const plan = await preflight(
    options,
    deps,
    'schedules submit to the Redis the workers use',
    new SkipTally(deps.logger),
  );
  await plan.listing.close();
  return {
    input: plan.input,
    output: plan.output,
    model: plan.requestedModel ?? resolveModelUri(undefined, deps.config),
    precision: plan.requestedPrecision ?? deps.config.PRECISION,
    shardSize: plan.shardSize,
  };
}

/** Every check that needs no write to Redis, in the order a user fixes them. */
async function preflight(options: SubmitOptions, deps: SubmitDeps, whyRedis: string, tally: SkipTally): Promise<Plan> {
  const run = checkRunId(options.run ?? newRunId(deps.now?.()));
  const shardSize = checkShardSize(options.shardSize ?? DEFAULT_SHARD_SIZE);
  const output = normalizeUri(options.output);
  const requestedModel = options.model === undefined ? undefined : resolveModelUri(options.model, deps.config);
  const since = options.since === undefined ? undefined : checkRunId(options.since);
  const redisUrl = await reachableRedisUrl(deps.redisUrl ?? deps.config.REDIS_URL, whyRedis, { noEviction: true });
  const openStore = deps.openStore ?? ((uri: string) => openAnyStore(uri));
  // Before the listing: a wrong --model is one line here, not every shard failing in the workers.
  const checkedModel = await checkModel(requestedModel ?? resolveModelUri(undefined, deps.config), { openStore });
  const listing = await openListing(options.input, {
    openStore,
    pageSize: deps.pageSize,
    ...(options.urlColumn === undefined ? {} : { urlColumn: options.urlColumn }),
    onSkip: (skipped) => tally.add(skipped.reason, skipped.where, skipped.detail),
  });
  try {
    // A finished run's resubmission writes nothing, not even the probe: its output stays byte for byte.
    if (!(await isFinishedRun(redisUrl, deps.config.QUEUE_PREFIX, run)))
      await checkOutputWritable(output, run, openStore, deps.now?.());
  } catch (error) {
    await listing.close();
    throw error;
  }
  return {
    run,
    redisUrl,
    checkedModel,
    input: listing.input.uri,
    output,
    shardSize,
    requestedModel,
    requestedPrecision: options.precision,
    since,
    normalize: options.normalize ?? false,
    schedule: options.schedule,
    urlColumn: options.urlColumn,
    openStore,
    listing,
  };
}

async function isFinishedRun(redisUrl: string, prefix: string, run: string): Promise<boolean> {
  const redis = connectRedis(redisUrl);
  try {
    return (await new RunRegistry(redis, prefix).get(run))?.finishedAt != null;
  } finally {
    redis.disconnect();
  }
}

function finishedResult(record: RunRecord): SubmitResult {
  return {
    run: record.run,
    shards: record.shards.total,
    images: record.images.total,
    skipped: record.images.skipped,
    skippedBy: noSkips(),
    enqueued: 0,
    resubmitted: true,
    complete: true,
    inputRoots: record.inputRoots,
    model: { ref: record.model, weightsSha256: record.modelSha256 ?? null },
  };
}

interface StreamContext {
  redis: Redis;
  registry: RunRegistry;
  deps: SubmitDeps;
  tally: SkipTally;
  /** Set for an incremental run: the base whose unchanged images are skipped. */
  incremental: IncrementalBase | null;
  /** The store of the run's output, where committed shards are looked up on a resubmission. */
  outputStore: ObjectStore;
}

async function streamRun(plan: Plan, claimed: ClaimedRun, context: StreamContext): Promise<SubmitResult> {
  const { redis, registry, deps, tally, incremental } = context;
  const finished = claimed.record?.finishedAt ? claimed.record : null;
  const model = claimed.model;
  const resubmitted = claimed.mayHaveCommittedShards;
  // Traces start at the producer when a collector is configured, so a shard's trace covers enqueue to write.
  const tracing = await startTracing(deps.config, 'resnet-batch-producer');
  const queue = new Queue(SHARD_QUEUE_NAME, {
    connection: redis,
    prefix: deps.config.QUEUE_PREFIX,
    ...queueTelemetry(tracing),
  });
  try {
    let listed = 0;
    let last = { images: 0, shards: 0, enqueued: 0 };
    const report = (progress: { images: number; shards: number; enqueued: number }) => {
      last = progress;
      deps.onProgress?.({ run: plan.run, listed, skipped: tally.total, ...progress });
    };
    const counted = async function* () {
      for await (const page of plan.listing.pages) {
        listed += page.length;
        report(last);
        yield page;
      }
    };
    const selected = selectImages(counted(), (info) =>
      tally.add('not-an-image', info.uri, 'not a format sharp decodes'),
    );
    const changed = filterUnchanged(selected, incremental?.pairs ?? null, (info) =>
      tally.add('unchanged', info.uri, `same ETag as in run ${incremental?.run}`),
    );
    const totals = await enqueueShards(shardListing(changed, plan.shardSize), {
      queue,
      redis,
      registry,
      run: {
        run: plan.run,
        output: plan.output,
        model,
        inputRoots: plan.listing.inputRoots,
        normalize: plan.normalize,
        // Only int8 is written: an fp32 job stays the payload it always was (shared/queue/job-payload.ts).
        ...(claimed.precision === 'fp32' ? {} : { precision: claimed.precision }),
      },
      jobOptions: jobOptions(deps.config),
      onGroup: report,
      ...(claimed.mayHaveCommittedShards ? { committedIn: context.outputStore } : {}),
      ...(claimed.record?.listingDone ? { knownShards: claimed.record.shards.total } : {}),
      // A finished run's resubmission only checks that the input is still the run's.
      checkOnly: finished !== null,
    });
    if (finished !== null) return finishedResult(finished);
    tally.summarize();
    const complete = await registry.finishListing(plan.run, {
      images: totals.images,
      skipped: tally.total,
      unchanged: tally.counts().unchanged,
      shards: totals.shards,
    });
    if (complete) await enqueueFinalizer(queue, registry, plan.run, deps.config);
    report(totals);
    return {
      run: plan.run,
      ...totals,
      skipped: tally.total,
      skippedBy: tally.counts(),
      resubmitted,
      complete,
      inputRoots: plan.listing.inputRoots,
      model: {
        ref: model,
        weightsSha256: plan.checkedModel.ref === model ? plan.checkedModel.weightsSha256 : null,
      },
    };
  } finally {
    await queue.close();
    await tracing?.shutdown();
  }
}
