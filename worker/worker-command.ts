import { configFromEnv } from '../shared/config.ts';
import { createLogger } from '../shared/observability/logger.ts';
import { reachableRedisUrl } from '../shared/queue/redis-connection.ts';
import { isStopWorkerMessage } from '../shared/queue/worker-control.ts';
import { startWorker, type WorkerCompanionFactory, type WorkerOptions } from './worker-service.ts';

export type { WorkerCompanion, WorkerCompanionFactory } from './worker-service.ts';
export type WorkerCommandOptions = WorkerOptions;

/**
 * Bounds the wait for a worker that must go now (a second signal, its parent gone, Redis given up
 * on): giving shards back takes the engine's current batch (a few seconds at most) and dropping
 * the connections, so past this something hangs and the process exits anyway. Milliseconds.
 */
const EXIT_NOW_MS = 10_000;

/**
 * `resnet-batch worker`: validates configuration, checks Redis, loads the model once
 * (worker-service.ts), then consumes shards until stopped:
 * - SIGTERM, SIGINT or SIGHUP: take no new shards, finish the current ones, exit 0; a second
 *   signal gives them back (their locks expire and another worker takes them) and exits 0 at once.
 * - Started by `resnet-batch run` (an IPC channel to its parent): stops when `run` asks (finish or
 *   give back the current shards), and when `run` is gone (killed, even by SIGKILL) gives its
 *   shards back and exits 1, instead of working on for nobody.
 * - Redis unreachable for longer than REDIS_UNREACHABLE_MS: exits 1 with one line saying so
 *   (bin/cli.ts prints the REDIS_UNREACHABLE error), so that a supervisor restarts it.
 */
export async function workerCommand(
  options: WorkerCommandOptions,
  companions: readonly WorkerCompanionFactory[] = [],
): Promise<number> {
  const config = configFromEnv();
  const logger = createLogger('worker');
  const redisUrl = await reachableRedisUrl(
    config.REDIS_URL,
    'workers take shards from Redis (or use `resnet-batch run`, which starts its own)',
  );
  const worker = startWorker(options, {
    config,
    logger,
    redisUrl,
    redisUnreachableMs: config.REDIS_UNREACHABLE_MS,
    companions,
  });
  const stopNow = (code: number): void => {
    worker.stop(true);
    void worker.stopped.finally(() => process.exit(code));
    setTimeout(() => process.exit(code), EXIT_NOW_MS).unref();
  };

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: giving the current shards back and exiting');
      stopNow(0);
      return;
    }
    signalled = true;
    logger.info({ signal }, 'stopping: finishing the current shards, taking no new ones');
    worker.stop();
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, onSignal);
  watchParent({
    stop: (force) => (force ? stopNow(0) : worker.stop()),
    gone: () => {
      logger.warn('the parent process (resnet-batch run) is gone: giving the current shards back and exiting');
      stopNow(1);
    },
  });

  try {
    await worker.stopped;
  } catch (error) {
    // The engine and the shard consumer are released by now; nothing else (a companion's
    // connection still reconnecting) may keep a worker that gave up alive, or log after the one
    // line bin/cli.ts prints for this error.
    setTimeout(() => process.exit(1), 100).unref();
    throw error;
  }
  return 0;
}

/**
 * A worker spawned by `run` has an IPC channel to it: `run` sends its stop requests there
 * (shared/queue/worker-control.ts), and the channel closes when `run` exits, whatever killed it.
 * Unreferenced, so that the channel never keeps the worker alive by itself.
 */
function watchParent(on: { stop(force: boolean): void; gone(): void }): void {
  if (!process.channel) return;
  process.channel.unref();
  process.on('message', (message) => {
    if (isStopWorkerMessage(message)) on.stop(message.force);
  });
  process.once('disconnect', on.gone);
}
