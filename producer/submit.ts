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
import { pickRunOptions, requestedRunFields } from '../shared/run/run-fields.ts';
import type { RunOptionsOf } from '../shared/run/run-options.ts';
import type { RunRecord } from '../shared/run/run-record.ts';
import { RunRegistry } from '../shared/run/run-registry.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import { openStore as openAnyStore } from '../shared/storage/open-store.ts';
import { normalizeUri } from '../shared/storage/uri.ts';
import { checkOutputWritable } from './check-output.ts';
import { type ClaimedRun, claimRun } from './claim-run.ts';
import { type EnqueueProgress, enqueueShards } from './enqueue-shards.ts';
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
 * The run options submit takes (input, output, model, precision, ...) are declared, with their
 * defaults, in shared/run/run-options.ts.
 */
export type SubmitOptions = RunOptionsOf<'submit'> & {
  /** Run id (RUN_ID_PATTERN); default a new sortable id (see run-id.ts). Reuse one to resume. */
  run?: string;
  /** Name of the schedule firing this run, recorded in the run record. Set by the schedule consumer. */
  schedule?: string;
};

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
  /** The run options, checked and canonical (the input as listed; the model resolved when named). */
  options: RunOptionsOf<'submit'>;
  schedule: string | undefined;
  /** The model named (or the default), checked before anything is written (model/check-model.ts). */
  checkedModel: CheckedModel;
  openStore: StoreOpener;
  listing: InputListing;
  /**
   * Submit's one Redis connection: the finished-run check, the run registry and the shard queue
   * share it (BullMQ uses a connection it is handed as it is). Closed by whoever made the plan.
   */
  redis: Redis;
}

const SUBMIT_NEEDS_REDIS = 'submit needs the Redis the workers use (or use `resnet-batch run`, which starts its own)';

export async function submitRun(options: SubmitOptions, deps: SubmitDeps): Promise<SubmitResult> {
  const tally = new SkipTally(deps.logger);
  const plan = await preflight(options, deps, SUBMIT_NEEDS_REDIS, tally);
  const outputStore = plan.openStore(plan.options.output);
  try {
    const registry = new RunRegistry(plan.redis, deps.config.QUEUE_PREFIX);
    const { claimed, incremental } = await claimWithBase(plan, registry, outputStore, deps);
    return await streamRun(plan, claimed, { registry, deps, tally, incremental, outputStore });
  } finally {
    await plan.listing.close();
    await outputStore.close();
    await plan.redis.quit().catch(() => plan.redis.disconnect());
  }
}

/**
 * The checks of submit without submitting (`schedule add` runs them before saving a schedule):
 * Redis answers, the input lists at least one object, the output takes a test write (under
 * `<output>/<probeRun>/`). Returns the options as a run would use them: canonical input and
 * output, the model and precision resolved, the shard size checked.
 */
export async function checkSubmission(
  options: SubmitOptions & { run: string },
  deps: SubmitDeps,
): Promise<RunOptionsOf<'submit'> & { model: string; precision: Precision; shardSize: number }> {
  const plan = await preflight(
    options,
    deps,
    'schedules submit to the Redis the workers use',
    new SkipTally(deps.logger),
  );
  await plan.listing.close();
  plan.redis.disconnect();
  return {
    ...plan.options,
    model: plan.options.model ?? resolveModelUri(undefined, deps.config),
    precision: plan.options.precision ?? deps.config.PRECISION,
    shardSize: plan.options.shardSize ?? DEFAULT_SHARD_SIZE,
  };
}

/** Every check that needs no write to Redis, in the order a user fixes them. */
async function preflight(options: SubmitOptions, deps: SubmitDeps, whyRedis: string, tally: SkipTally): Promise<Plan> {
  const run = checkRunId(options.run ?? newRunId(deps.now?.()));
  const checked = checkOptions(options, deps.config);
  const redisUrl = await reachableRedisUrl(deps.redisUrl ?? deps.config.REDIS_URL, whyRedis, { noEviction: true });
  const openStore = deps.openStore ?? ((uri: string) => openAnyStore(uri));
  // Before the listing: a wrong --model is one line here, not every shard failing in the workers.
  const checkedModel = await checkModel(checked.model ?? resolveModelUri(undefined, deps.config), { openStore });
  const listing = await openListing(options.input, {
    openStore,
    pageSize: deps.pageSize,
    ...(options.urlColumn === undefined ? {} : { urlColumn: options.urlColumn }),
    onSkip: (skipped) => tally.add(skipped.reason, skipped.where, skipped.detail),
  });
  const redis = connectRedis(redisUrl, deps.logger);
  try {
    // A finished run's resubmission writes nothing, not even the probe: its output stays byte for byte.
    if (!(await isFinishedRun(redis, deps.config.QUEUE_PREFIX, run)))
      await checkOutputWritable(checked.output, run, openStore, deps.now?.());
  } catch (error) {
    await listing.close();
    redis.disconnect();
    throw error;
  }
  const planned = { ...checked, input: listing.input.uri };
  return { run, options: planned, schedule: options.schedule, checkedModel, openStore, listing, redis };
}

/** The options checked and made canonical, before anything is opened. */
function checkOptions(options: SubmitOptions, config: PipelineConfig): RunOptionsOf<'submit'> {
  return {
    ...pickRunOptions(options, 'submit'),
    shardSize: checkShardSize(options.shardSize ?? DEFAULT_SHARD_SIZE),
    output: normalizeUri(options.output),
    model: options.model === undefined ? undefined : resolveModelUri(options.model, config),
    since: options.since === undefined ? undefined : checkRunId(options.since),
  };
}

async function isFinishedRun(redis: Redis, prefix: string, run: string): Promise<boolean> {
  return (await new RunRegistry(redis, prefix).get(run))?.finishedAt != null;
}

/**
 * Claims the run id for the definition asked for (claim-run.ts), once an incremental run's base
 * is known to be finished; then reads the base's images (in the run's model and precision).
 */
async function claimWithBase(
  plan: Plan,
  registry: RunRegistry,
  outputStore: ObjectStore,
  deps: SubmitDeps,
): Promise<{ claimed: ClaimedRun; incremental: IncrementalBase | null }> {
  const { since } = plan.options;
  const base = since === undefined ? null : await checkBaseRun(registry, since, deps.config.QUEUE_PREFIX);
  const claimed = await claimRun(registry, outputStore, {
    run: plan.run,
    fields: {
      ...requestedRunFields(plan.options),
      inputRoots: plan.listing.inputRoots,
      carriedColumns: plan.listing.carriedColumns,
    },
    defaultModel: resolveModelUri(undefined, deps.config),
    checkedModel: plan.checkedModel,
    defaultPrecision: deps.config.PRECISION,
    ...(plan.schedule === undefined ? {} : { schedule: plan.schedule }),
    now: deps.now?.() ?? new Date(),
  });
  if (base === null) return { claimed, incremental: null };
  const model = { model: claimed.model, precision: claimed.precision };
  return { claimed, incremental: await loadIncrementalBase(base, model, registry, plan.openStore, deps.logger) };
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
  registry: RunRegistry;
  deps: SubmitDeps;
  tally: SkipTally;
  /** Set for an incremental run: the base whose unchanged images are skipped. */
  incremental: IncrementalBase | null;
  /** The store of the run's output, where committed shards are looked up on a resubmission. */
  outputStore: ObjectStore;
}

/** list -> select -> shard -> enqueue, then the listing's totals recorded (and the finaliser queued when all is done). */
async function streamRun(plan: Plan, claimed: ClaimedRun, context: StreamContext): Promise<SubmitResult> {
  const { deps } = context;
  // Traces start at the producer when a collector is configured, so a shard's trace covers enqueue to write.
  const tracing = await startTracing(deps.config, 'resnet-batch-producer');
  const queue = new Queue(SHARD_QUEUE_NAME, {
    connection: plan.redis,
    prefix: deps.config.QUEUE_PREFIX,
    ...queueTelemetry(tracing),
  });
  try {
    const progress = new ListingProgress(plan.run, context.tally, deps.onProgress);
    const totals = await enqueueListing(plan, claimed, context, queue, progress);
    const finished = claimed.record?.finishedAt ? claimed.record : null;
    if (finished !== null) return finishedResult(finished);
    const complete = await recordListingDone(plan.run, totals, context, queue);
    progress.report(totals);
    return listedResult(plan, claimed, context.tally, { ...totals, complete });
  } finally {
    await queue.close();
    await tracing?.shutdown();
  }
}

/** Streams the listing through the filters into shard jobs; a finished run's resubmission only checks it. */
async function enqueueListing(
  plan: Plan,
  claimed: ClaimedRun,
  context: StreamContext,
  queue: Queue,
  progress: ListingProgress,
): Promise<EnqueueProgress> {
  const { tally, incremental } = context;
  const selected = selectImages(progress.counted(plan.listing.pages), (info) =>
    tally.add('not-an-image', info.uri, 'not a format sharp decodes'),
  );
  const changed = filterUnchanged(selected, incremental?.pairs ?? null, (info) =>
    tally.add('unchanged', info.uri, `same ETag as in run ${incremental?.run}`),
  );
  return enqueueShards(shardListing(changed, plan.options.shardSize ?? DEFAULT_SHARD_SIZE), {
    queue,
    redis: plan.redis,
    registry: context.registry,
    run: {
      run: plan.run,
      output: plan.options.output,
      model: claimed.model,
      inputRoots: plan.listing.inputRoots,
      normalize: plan.options.normalize ?? false,
      // Only int8 is written: an fp32 job stays the payload it always was (shared/queue/job-payload.ts).
      ...(claimed.precision === 'fp32' ? {} : { precision: claimed.precision }),
    },
    jobOptions: jobOptions(context.deps.config),
    onGroup: (group) => progress.report(group),
    ...(claimed.mayHaveCommittedShards ? { committedIn: context.outputStore } : {}),
    ...(claimed.record?.listingDone ? { knownShards: claimed.record.shards.total } : {}),
    // A finished run's resubmission only checks that the input is still the run's.
    checkOnly: claimed.record?.finishedAt != null,
  });
}

/** Records the listing's totals; when every shard is already accounted for, queues the finaliser. */
async function recordListingDone(
  run: string,
  totals: EnqueueProgress,
  { registry, tally, deps }: StreamContext,
  queue: Queue,
): Promise<boolean> {
  tally.summarize();
  const complete = await registry.finishListing(run, {
    images: totals.images,
    skipped: tally.total,
    unchanged: tally.counts().unchanged,
    shards: totals.shards,
  });
  if (complete) await enqueueFinalizer(queue, registry, run, deps.config);
  return complete;
}

function listedResult(
  plan: Plan,
  claimed: ClaimedRun,
  tally: SkipTally,
  totals: EnqueueProgress & { complete: boolean },
): SubmitResult {
  const model = claimed.model;
  return {
    run: plan.run,
    ...totals,
    skipped: tally.total,
    skippedBy: tally.counts(),
    resubmitted: claimed.mayHaveCommittedShards,
    inputRoots: plan.listing.inputRoots,
    model: {
      ref: model,
      weightsSha256: plan.checkedModel.ref === model ? plan.checkedModel.weightsSha256 : null,
    },
  };
}

/** SubmitProgress as the listing advances: objects listed (page by page) and shards enqueued (group by group). */
class ListingProgress {
  private listed = 0;
  private last: EnqueueProgress = { images: 0, shards: 0, enqueued: 0 };

  constructor(
    private readonly run: string,
    private readonly tally: SkipTally,
    private readonly onProgress: SubmitDeps['onProgress'],
  ) {}

  report(progress: EnqueueProgress): void {
    this.last = progress;
    this.onProgress?.({ run: this.run, listed: this.listed, skipped: this.tally.total, ...progress });
  }

  /** The pages, counted as they pass. */
  async *counted<T>(pages: AsyncIterable<T[]>): AsyncGenerator<T[]> {
    for await (const page of pages) {
      this.listed += page.length;
      this.report(this.last);
      yield page;
    }
  }
}
