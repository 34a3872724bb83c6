import { newRunId } from '../producer/run-id.ts';
import { configFromEnv, type PipelineConfig } from '../shared/config.ts';
import { ResnetBatchError } from '../shared/errors.ts';
import type { EngineChoice } from '../shared/inference/engine.ts';
import { logLevelFromEnv } from '../shared/observability/log-format.ts';
import { createLogger, type Logger } from '../shared/observability/logger.ts';
import type { RunActivity } from '../shared/run/run-activity.ts';
import { pickRunOptions } from '../shared/run/run-fields.ts';
import type { RunOptionsOf } from '../shared/run/run-options.ts';
import type { RunRecord } from '../shared/run/run-record.ts';
import type { RunRegistry } from '../shared/run/run-registry.ts';
import { type EmbeddedRedis, startEmbeddedRedis } from './embedded-redis.ts';
import { LocalWorkers, redisUnreachableMs, type StartInProcessWorker } from './local-workers.ts';
import { printNextCommands, printSubmitted, printSummary, progressDisplay } from './run-display.ts';
import type { ErrorCodeCount } from './run-errors.ts';
import { readRunProgress, runExitCode } from './run-progress.ts';
import { RunInterrupted, RunStop } from './run-stop.ts';

/**
 * The flags of `run`: the run options it takes (shared/run/run-options.ts; the precision is also
 * its local workers') but the input, an argument, and its own below.
 */
export type RunCommandOptions = Omit<RunOptionsOf<'run'>, 'input'> & {
  run?: string;
  workers: number;
  batchSize?: number;
  /** Default ENGINE (shared/config.ts), else auto; passed to every local worker. */
  engine?: EngineChoice;
};

/**
 * `resnet-batch run`: submit, local workers and the wait, in one command. Without REDIS_URL it
 * brings its own redis-server (ops/embedded-redis.ts). The first worker runs in this process
 * when bin/cli.ts passes `startInProcessWorker`, the others as child processes
 * (ops/local-workers.ts); it starts loading the model while Redis starts and the input is listed.
 * An int8 run first builds its graph once, here, on first use (prepareInt8Model).
 *
 * Exit 0 when every input image has an ok row, 2 when some have an error row or some shards
 * failed for good (runExitCode), 1 on a fatal error (thrown), 128 + the signal's number when a
 * signal stopped it (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP; ops/run-stop.ts). However it ends, no worker and no redis-server
 * of its own is left behind, and nothing of them on disk.
 */
export async function runCommand(
  input: string,
  options: RunCommandOptions,
  startInProcessWorker?: StartInProcessWorker,
): Promise<number> {
  const config = configFromEnv();
  const logger = createLogger('run');
  // The run and its workers have one precision: submitted explicitly, a resubmission of a run
  // recorded at another precision is refused up front (claim-run.ts) rather than left to workers
  // that would refuse its shards.
  const precision = options.precision ?? config.PRECISION;
  const workers = new LocalWorkers({ ...options, precision }, createLogger('worker', logLevelFromEnv('warn')));
  const stop = stopWorkersOnSignals(workers);
  // The model starts loading first (on its own thread); Redis and the listing meanwhile. An int8
  // graph not built on this host yet is built first, once, while Redis starts.
  const redis = deferred<string>();
  const preparing = precision === 'int8' ? prepareInt8Model(options.model, config) : undefined;
  if (startInProcessWorker && !preparing) workers.startInProcess(startInProcessWorker, config, redis.promise);
  const embedded = config.REDIS_URL ? undefined : startEmbeddedRedis();
  redis.follow(embedded ? embedded.then((server) => server.url) : Promise.resolve(config.REDIS_URL ?? ''));
  const run: RunSoFar = {};
  let interrupted: RunInterrupted | undefined;
  try {
    if (preparing) {
      await stop.race(preparing);
      if (startInProcessWorker) workers.startInProcess(startInProcessWorker, config, redis.promise);
    }
    const url = await stop.race(redis.promise);
    workers.spawnChildren(options.workers - (startInProcessWorker ? 1 : 0), url, config);
    const record = await submitAndWait(input, { ...options, precision }, { config, logger, url, workers, stop, run });
    run.finished = true;
    printSummary(record, await readErrorCodes(record));
    printNextCommands(record);
    return runExitCode(record);
  } catch (error) {
    if (!(error instanceof RunInterrupted)) throw error;
    interrupted = error;
    return stop.exitCode();
  } finally {
    await tearDown({ workers, embedded, stop, run, interrupted });
  }
}

/** The run's error codes for the summary; null when its errors/ parts cannot be read (the run is done all the same). */
async function readErrorCodes(record: RunRecord): Promise<ErrorCodeCount[] | null> {
  if (record.images.error === 0) return [];
  const [{ openStore }, { countErrorCodes, readErrorRows }] = await Promise.all([
    import('../shared/storage/open-store.ts'),
    import('./run-errors.ts'),
  ]);
  const store = openStore(record.output);
  try {
    return await countErrorCodes(readErrorRows(store, record.output, record.run));
  } catch {
    return null;
  } finally {
    await store.close();
  }
}

/**
 * The first signal asks the workers to finish their current shards, a second one (or the grace
 * period over, ops/run-stop.ts) gives the shards back at once; each says so on stderr.
 */
function stopWorkersOnSignals(workers: LocalWorkers): RunStop {
  return new RunStop({
    graceful: (signal) => {
      const again = signal === 'SIGINT' ? 'Ctrl-C again' : 'a second signal';
      process.stderr.write(`\n${signal}: stopping; the workers finish their current shards (${again} stops at once)\n`);
      workers.stop(false);
    },
    force: (reason) => {
      process.stderr.write(`${reason}: giving the current shards back and stopping now\n`);
      workers.stop(true);
    },
  });
}

/**
 * However the run ended: the workers, then the embedded Redis, then the signal handlers; then why
 * it stopped, when a signal stopped it, and a deadline for a process whose run did not finish.
 */
async function tearDown({
  workers,
  embedded,
  stop,
  run,
  interrupted,
}: {
  workers: LocalWorkers;
  embedded: Promise<EmbeddedRedis> | undefined;
  stop: RunStop;
  run: RunSoFar;
  interrupted: RunInterrupted | undefined;
}): Promise<void> {
  // Done: the workers are idle and stop at once. Failed: what they do is moot. Signalled: they
  // were asked already (finish, or give back after the grace period).
  await workers.shutdown(!run.finished && stop.signal === undefined);
  await (await embedded?.catch(() => undefined))?.stop();
  stop.dispose();
  if (interrupted) {
    const unfinished = run.id ? `: run ${run.id} did not finish (the shards finished so far are written)` : '';
    process.stderr.write(`${interrupted.message}${unfinished}\n`);
  }
  // A run that did not finish (a signal, an error) may leave work abandoned mid-way holding the
  // process open (a listing, a connection still reconnecting to a Redis that is gone): once the
  // workers and Redis have stopped, nothing else is worth waiting for. process.exit() takes the
  // code bin/cli.ts sets meanwhile (128 + signal, or 1 after printing the error).
  if (!run.finished) setTimeout(() => process.exit(), 1_000).unref();
}

/** How far the run got, for the messages of a run that did not finish. */
interface RunSoFar {
  /** Set before the submit starts. */
  id?: string;
  /** Set once its record says done. */
  finished?: boolean;
}

/** What submitAndWait works with: the Redis `run` uses, its local workers and its stop signals. */
interface RunContext {
  config: PipelineConfig;
  logger: Logger;
  url: string;
  workers: LocalWorkers;
  stop: RunStop;
  run: RunSoFar;
}

/** Submits the run, then waits for it to finish; `run.id` is set before the submit starts. */
async function submitAndWait(input: string, options: RunCommandOptions, context: RunContext): Promise<RunRecord> {
  const { config, logger, url, stop } = context;
  // Named here rather than by submit, so that a stop during a long listing (while the first
  // shards are already being processed) can still say which run did not finish.
  context.run.id = options.run ?? newRunId();
  // Loaded here, not at the top: the worker above starts loading the model meanwhile.
  const [{ submitRun }, { RunRegistry }, { RunActivity }, { connectRedis }] = await Promise.all([
    import('../producer/submit.ts'),
    import('../shared/run/run-registry.ts'),
    import('../shared/run/run-activity.ts'),
    import('../shared/queue/redis-connection.ts'),
  ]);
  // Like its workers, `run` gives up on a Redis gone for longer than the limit, with that reason.
  let lost: Error | undefined;
  const redis = connectRedis(
    url,
    logger,
    {},
    {
      afterMs: redisUnreachableMs(config),
      onGiveUp: (error) => {
        lost = error;
      },
    },
  );
  try {
    const submitted = await stop.race(
      submitRun({ ...pickRunOptions(options, 'run'), input, run: context.run.id }, { config, redisUrl: url, logger }),
    );
    printSubmitted(submitted, options.workers);
    return await waitForRun(
      { registry: new RunRegistry(redis, config.QUEUE_PREFIX), activity: new RunActivity(redis, config.QUEUE_PREFIX) },
      submitted.run,
      context.workers,
      stop,
    );
  } catch (error) {
    throw lost ?? error;
  } finally {
    redis.disconnect();
  }
}

/**
 * Builds the int8 graph of the run's model on this host's first use (20-30 s on 2 cores), with
 * progress lines on the terminal, before any local worker opens it: N workers would otherwise each
 * build the same graph at once, with their lines hidden at LOG_LEVEL warn. Imported only for int8:
 * the fp32 path loads nothing of it.
 */
async function prepareInt8Model(model: string | undefined, config: PipelineConfig): Promise<void> {
  const [{ prepareModel }, { resolveModelRef }] = await Promise.all([
    import('../worker/engines/open-engine.ts'),
    import('../shared/inference/model-ref.ts'),
  ]);
  await prepareModel({
    modelRef: resolveModelRef(model, config),
    precision: 'int8',
    onProgress: (message) => process.stderr.write(`resnet-batch: ${message}\n`),
  });
}

/** A promise settled later by another one (`follow`); never left rejected unhandled. */
function deferred<T>(): { promise: Promise<T>; follow(source: Promise<T>): void } {
  let follow: (source: Promise<T>) => void = () => undefined;
  const promise = new Promise<T>((resolve, reject) => {
    follow = (source) => void source.then(resolve, reject);
  });
  promise.catch(() => undefined);
  return { promise, follow };
}

async function waitForRun(
  { registry, activity }: { registry: RunRegistry; activity: RunActivity },
  run: string,
  workers: LocalWorkers,
  stop: RunStop,
): Promise<RunRecord> {
  const display = progressDisplay(workers);
  const waitStart = Date.now();
  try {
    for (;;) {
      const record = await stop.race(registry.get(run));
      if (!record)
        throw new ResnetBatchError(
          'RUN_MISSING',
          `run ${run} disappeared from Redis; was the server restarted without persistence?`,
        );
      display.show(record, await stop.race(readRunProgress(activity, record)));
      if (record.state === 'done') return record;
      if (record.finalizeError !== null) {
        throw new ResnetBatchError(
          'FINALIZE_FAILED',
          `every shard of run ${run} is accounted for, but writing its manifest failed for good: ${record.finalizeError}; fix the cause, then resnet-batch retry ${run} (with REDIS_URL set) or run this command again`,
        );
      }
      const gone = workers.gone(run);
      if (gone) throw gone;
      // Often at first, so that a short run ends as soon as it is done; then at a calmer pace.
      await stop.race(sleep(Date.now() - waitStart < 10_000 ? 100 : 500));
    }
  } finally {
    display.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
