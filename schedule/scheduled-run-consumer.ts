import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { StoreOpener } from '../producer/list-inputs.ts';
import { submitRun } from '../producer/submit.ts';
import type { PipelineConfig } from '../shared/config.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/observability/logger.ts';
import { toBullmqError } from '../shared/queue/job-outcome.ts';
import { connectRedis } from '../shared/queue/redis-connection.ts';
import { optionsOfStored } from '../shared/run/run-fields.ts';
import { RunRegistry } from '../shared/run/run-registry.ts';
import { ScheduleHistory } from './schedule-history.ts';
import { ScheduleLock } from './schedule-lock.ts';
import {
  fireTime,
  parseScheduleData,
  SCHEDULE_QUEUE_NAME,
  type ScheduleData,
  scheduledRunId,
} from './schedule-spec.ts';

/**
 * Turns fired schedules into runs. Every `resnet-batch worker` runs one next to its ShardWorker
 * (one firing at a time; a firing only lists and enqueues, the shards then go to the shard queue
 * like any run's). So a schedule that fires while no worker runs leaves its job waiting in the
 * schedules queue, and the run is submitted when the first worker starts; BullMQ adds a
 * scheduler's next job only when the current one is taken, so firings missed meanwhile do not pile up.
 *
 * Each firing:
 *   1. takes the schedule's lock (schedule-lock.ts); held by another firing -> skipped;
 *   2. a firing whose run (`<name>-YYYYMMDD-HHMMSS`) already finished -> nothing to do; one whose
 *      run exists but is unfinished -> resubmitted (enqueues only what is missing);
 *   3. otherwise, when the schedule's newest run has not finished -> skipped, counted in the
 *      schedule's history and logged (two firings never process the same listing at once: the
 *      concurrency policy Kubernetes calls Forbid; the next firing tries again);
 *   4. else submitRun, with the schedule's last finished run as `since` when it is incremental.
 * The run is put in the history before submitting, so a firing interrupted mid-listing still
 * blocks the next one, and its retry (same job, same fire time) completes the same run.
 */
export interface ScheduledRunConsumerOptions {
  redisUrl: string;
  config: PipelineConfig;
  logger: Logger;
  /** Store for a URI (listing, output check); default shared/storage/open-store.ts. */
  openStore?: StoreOpener;
}

export type FireOutcome =
  | { kind: 'submitted'; run: string; since: string | null; images: number; enqueued: number; resubmitted: boolean }
  | { kind: 'already-finished'; run: string }
  | { kind: 'skipped'; run: string; reason: string };

export class ScheduledRunConsumer {
  private readonly connection: Redis;
  private readonly registry: RunRegistry;
  private readonly history: ScheduleHistory;
  private readonly lock: ScheduleLock;
  private worker: { worker: Worker; connection: Redis } | undefined;

  constructor(private readonly options: ScheduledRunConsumerOptions) {
    this.connection = connectRedis(options.redisUrl, options.logger);
    this.registry = new RunRegistry(this.connection, options.config.QUEUE_PREFIX);
    this.history = new ScheduleHistory(this.connection, options.config.QUEUE_PREFIX);
    this.lock = new ScheduleLock(this.connection, options.config.QUEUE_PREFIX);
  }

  /** Starts consuming the schedules queue (returns at once). */
  start(): void {
    if (this.worker !== undefined) return;
    // BullMQ never closes a connection it was handed, so close() disconnects this one itself.
    const connection = connectRedis(this.options.redisUrl, this.options.logger);
    const worker = new Worker(SCHEDULE_QUEUE_NAME, (job) => this.process(job), {
      connection,
      prefix: this.options.config.QUEUE_PREFIX,
      concurrency: 1,
    });
    worker.on('error', (error) => this.options.logger.warn({ err: error.message }, 'schedules queue error'));
    worker.on('failed', (job, error) =>
      this.options.logger.warn(
        { job: job?.id, attempt: job?.attemptsMade, err: error.message },
        'scheduled run could not be submitted',
      ),
    );
    this.worker = { worker, connection };
  }

  /** Stops taking firings; a firing being submitted is finished first. */
  async close(): Promise<void> {
    if (this.worker !== undefined) {
      await this.worker.worker.close();
      this.worker.connection.disconnect();
    }
    this.connection.disconnect();
  }

  /** Handles one firing of `data` at `firedAt` (what the queue's processor calls). */
  async fire(data: ScheduleData, firedAt: Date): Promise<FireOutcome> {
    const run = scheduledRunId(data.name, firedAt);
    const lease = await this.lock.acquire(data.name);
    if (lease === null) return this.skip(data.name, run, firedAt, 'another firing of this schedule is being submitted');
    try {
      const existing = await this.registry.get(run);
      if (existing?.finishedAt) return { kind: 'already-finished', run };
      const busy = existing === null ? await this.history.unfinishedRun(data.name, this.registry) : null;
      if (busy !== null)
        return await this.skip(
          data.name,
          run,
          firedAt,
          `run ${busy.run} of this schedule has not finished (state ${busy.state})`,
        );
      const since = existing !== null ? existing.since : await this.sinceOf(data);
      await this.history.recordRun(data.name, run, firedAt);
      return await this.submit(data, run, since);
    } finally {
      await lease.release();
    }
  }

  /** The base of a new run: the schedule's last finished run when it is incremental. */
  private async sinceOf(data: ScheduleData): Promise<string | null> {
    return data.incremental ? this.history.lastFinishedRun(data.name, this.registry) : null;
  }

  /** Submits the firing's run with the schedule's run options, as they were resolved at `schedule add`. */
  private async submit(data: ScheduleData, run: string, since: string | null): Promise<FireOutcome> {
    const { config, redisUrl, logger, openStore } = this.options;
    const result = await submitRun(
      { ...optionsOfStored(data, 'schedule add'), run, schedule: data.name, ...(since === null ? {} : { since }) },
      { config, redisUrl, logger, ...(openStore ? { openStore } : {}) },
    );
    const submitted = { images: result.images, enqueued: result.enqueued, resubmitted: result.resubmitted };
    logger.info({ schedule: data.name, run, since, ...submitted }, 'scheduled run submitted');
    return { kind: 'submitted', run, since, ...submitted };
  }

  private async process(job: Job): Promise<FireOutcome> {
    try {
      return await this.fire(parseScheduleData(job.data), fireTime(job));
    } catch (error) {
      this.options.logger.error({ job: job.id, err: describeError(error) }, 'scheduled run failed to submit');
      throw toBullmqError(error);
    }
  }

  private async skip(name: string, run: string, firedAt: Date, reason: string): Promise<FireOutcome> {
    await this.history.recordSkip(name, firedAt, reason);
    this.options.logger.warn({ schedule: name, run, reason }, `firing of schedule ${name} skipped: ${reason}`);
    return { kind: 'skipped', run, reason };
  }
}
