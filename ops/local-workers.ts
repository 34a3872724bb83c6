import { type ChildProcess, spawn } from 'node:child_process';
import type { PipelineConfig } from '../shared/config.ts';
import { ResnetBatchError } from '../shared/errors.ts';
import type { EngineChoice } from '../shared/inference/engine.ts';
import type { Precision } from '../shared/inference/precision.ts';
import { logLevelFromEnv } from '../shared/observability/log-format.ts';
import type { Logger } from '../shared/observability/logger.ts';
import type { StopWorkerMessage } from '../shared/queue/worker-control.ts';
import { CLI_LAUNCHER } from '../shared/source-location.ts';

/**
 * What `run` needs of a worker running inside its own process. worker/worker-service.ts
 * RunningWorker is one; bin/cli-program.ts injects the starter, as it starts every worker
 * (`resnet-batch worker` too), so ops/ never imports the worker service. ops/ does import from
 * worker/ what its commands run themselves: the image decoder (calibrate, evaluate) and the
 * engine opener (compare-precisions, and `run`'s int8 prebuild in run-command.ts).
 */
export interface InProcessWorker {
  readonly ready: Promise<void>;
  readonly stopped: Promise<void>;
  stop(force?: boolean): void;
}

export type StartInProcessWorker = (context: {
  config: PipelineConfig;
  logger: Logger;
  redisUrl: Promise<string>;
  redisUnreachableMs: number;
}) => InProcessWorker;

export interface LocalWorkerOptions {
  engine?: EngineChoice;
  batchSize?: number;
  model?: string;
  /** The run's precision: every worker runs the model at it (shards of another are refused). */
  precision?: Precision;
}

/**
 * `run` gives its workers this long to reach an unreachable Redis, unless REDIS_UNREACHABLE_MS says
 * otherwise: their Redis is the one `run` started (or named), and when it is gone for this long
 * the run is over. Milliseconds.
 */
export const RUN_WORKER_REDIS_UNREACHABLE_MS = 15_000;

/** After a forced stop, a child worker gets this long to give its shards back before SIGKILL. Milliseconds. */
const KILL_AFTER_MS = 5_000;

/**
 * The workers of one `run`: the first in this process (no second Node start, no second copy of
 * the libraries: the model loads while Redis starts and the input is listed), the others as child
 * processes of `resnet-batch worker`, each in a session of its own so that Ctrl-C at the terminal
 * reaches `run` only, which then stops them in order. Each child has an IPC channel to `run`: when
 * `run` dies, even by SIGKILL, the channel closes and the child exits (worker/worker-command.ts).
 */
export class LocalWorkers {
  private inProcess: InProcessWorker | undefined;
  private inProcessError: unknown;
  private inProcessDone = false;
  private inProcessReady = false;
  private readonly children: ChildProcess[] = [];
  private asked: 'no' | 'graceful' | 'force' = 'no';

  constructor(
    private readonly options: LocalWorkerOptions,
    private readonly logger: Logger,
  ) {}

  startInProcess(start: StartInProcessWorker, config: PipelineConfig, redisUrl: Promise<string>): void {
    const worker = start({
      config: { ...config, METRICS_PORT: process.env.METRICS_PORT === undefined ? 0 : config.METRICS_PORT },
      logger: this.logger,
      redisUrl,
      redisUnreachableMs: redisUnreachableMs(config),
    });
    this.inProcess = worker;
    void worker.ready.then(() => {
      this.inProcessReady = true;
    });
    worker.stopped.then(
      () => {
        this.inProcessDone = true;
      },
      (error: unknown) => {
        this.inProcessDone = true;
        this.inProcessError = error;
      },
    );
  }

  /**
   * Whether the model is loaded in this process (or there is no in-process worker): until then its
   * engine thread may log, writing to the terminal directly, where a live progress line would be
   * broken by it (shared/observability/live-line.ts reaches this thread's logs only).
   */
  get settled(): boolean {
    return this.inProcess === undefined || this.inProcessReady || this.inProcessDone;
  }

  spawnChildren(count: number, redisUrl: string, config: PipelineConfig): void {
    const args = [CLI_LAUNCHER, 'worker'];
    if (this.options.engine) args.push('--engine', this.options.engine);
    if (this.options.batchSize) args.push('--batch-size', String(this.options.batchSize));
    if (this.options.model) args.push('--model', this.options.model);
    if (this.options.precision) args.push('--precision', this.options.precision);
    // Only warnings and errors reach the terminal unless LOG_LEVEL says otherwise. Local workers
    // share one host: metrics stay off unless METRICS_PORT asks for them (then the first worker
    // serves it and the others serve on free ports, each logging its own).
    const env = {
      ...process.env,
      REDIS_URL: redisUrl,
      LOG_LEVEL: logLevelFromEnv('warn'),
      METRICS_PORT: process.env.METRICS_PORT ?? '0',
      REDIS_UNREACHABLE_MS: String(redisUnreachableMs(config)),
    };
    for (let index = 0; index < count; index += 1) {
      this.children.push(
        spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'], detached: true }),
      );
    }
  }

  /**
   * Undefined while a worker may still process shards; else the error to stop the run with: the
   * in-process worker's own (it could not load the model, or gave up on Redis) when it failed.
   */
  gone(run: string): unknown {
    if (this.live().length > 0 || (this.inProcess && !this.inProcessDone)) return undefined;
    if (this.inProcessError) return this.inProcessError;
    const codes = this.children.map((child) => child.exitCode ?? child.signalCode);
    return new ResnetBatchError(
      'WORKERS_EXITED',
      `every worker exited before run ${run} finished${codes.length ? ` (exit codes ${codes.join(', ')})` : ''}; their errors are above`,
    );
  }

  /**
   * Graceful: the workers finish their current shards. Forced: they give them back at once, and
   * children still there KILL_AFTER_MS later are killed.
   */
  stop(force: boolean): void {
    if (force ? this.asked === 'force' : this.asked !== 'no') return;
    this.asked = force ? 'force' : 'graceful';
    this.inProcess?.stop(force);
    const message: StopWorkerMessage = { type: 'stop', force };
    for (const child of this.live()) {
      // A child that lost its channel still stops on SIGTERM (its first signal: finish the shard).
      if (child.connected) child.send(message, (error) => error && child.kill('SIGTERM'));
      else child.kill('SIGTERM');
    }
    if (force) {
      setTimeout(() => {
        for (const child of this.live()) child.kill('SIGKILL');
      }, KILL_AFTER_MS).unref();
    }
  }

  /** Stops the workers (unless already asked) and waits until every one is gone. */
  async shutdown(force: boolean): Promise<void> {
    this.stop(force);
    await Promise.all([
      this.inProcess?.stopped.catch(() => undefined),
      ...this.children.map(async (child) => {
        if (child.exitCode === null && child.signalCode === null)
          await new Promise((resolve) => child.once('exit', resolve));
      }),
    ]);
  }

  private live(): ChildProcess[] {
    return this.children.filter((child) => child.exitCode === null && child.signalCode === null);
  }
}

/** How long `run` and its workers keep reconnecting to an unreachable Redis: REDIS_UNREACHABLE_MS when set, else RUN_WORKER_REDIS_UNREACHABLE_MS. */
export function redisUnreachableMs(config: PipelineConfig): number {
  return process.env.REDIS_UNREACHABLE_MS === undefined ? RUN_WORKER_REDIS_UNREACHABLE_MS : config.REDIS_UNREACHABLE_MS;
}
