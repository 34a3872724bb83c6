import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { StoreOpener } from '../producer/list-inputs.ts';
import { checkSubmission } from '../producer/submit.ts';
import type { PipelineConfig } from '../shared/config.ts';
import { ConfigError } from '../shared/errors.ts';
import type { Logger } from '../shared/observability/logger.ts';
import { pickRunOptions, storedOptions } from '../shared/run/run-fields.ts';
import type { RunOptionsOf } from '../shared/run/run-options.ts';
import { ScheduleHistory, type ScheduleState } from './schedule-history.ts';
import {
  checkCron,
  checkScheduleName,
  checkTimeZone,
  fireTime,
  parseScheduleData,
  SCHEDULE_DATA_VERSION,
  SCHEDULE_JOB_NAME,
  SCHEDULE_QUEUE_NAME,
  type ScheduleData,
} from './schedule-spec.ts';

/**
 * The schedules, kept as BullMQ job schedulers on the schedules queue (one scheduler per name,
 * id = name): BullMQ stores the cron pattern and zone, computes each fire time and adds one job
 * per firing, whose data is the submit to run (ScheduleData). scheduled-run-consumer.ts turns
 * those jobs into runs.
 */
export type NewSchedule = {
  name: string;
  /** Cron pattern (schedule-spec.ts checkCron). */
  cron: string;
  /** IANA time zone the pattern is read in; default the zone of the Redis-side clock, i.e. UTC. */
  tz?: string;
  /** Each firing processes only what changed since the schedule's last finished run; default false. */
  incremental?: boolean;
} & RunOptionsOf<'schedule add'>;

export interface ScheduleListing {
  name: string;
  cron: string;
  tz: string | null;
  /** Next fire time, or null when BullMQ has none queued. */
  next: Date | null;
  data: ScheduleData;
  state: ScheduleState;
}

export interface ScheduleDeps {
  config: PipelineConfig;
  redisUrl: string;
  openStore?: StoreOpener;
  logger?: Logger;
}

/** Attempts of one firing's submit (a storage or Redis outage), with exponential backoff from 10 s. */
export const SCHEDULE_FIRE_ATTEMPTS = 5;

/** Completed and failed firings kept in Redis for inspection (the runs themselves are in the registry). */
const KEEP_FIRINGS = 100;

const fireJobOptions: Omit<JobsOptions, 'jobId' | 'repeat' | 'delay'> = {
  attempts: SCHEDULE_FIRE_ATTEMPTS,
  backoff: { type: 'exponential', delay: 10_000 },
  removeOnComplete: { count: KEEP_FIRINGS },
  removeOnFail: { count: KEEP_FIRINGS },
};

export class ScheduleRegistry {
  private readonly queue: Queue;
  private readonly history: ScheduleHistory;

  constructor(
    redis: Redis,
    private readonly deps: ScheduleDeps,
  ) {
    this.queue = new Queue(SCHEDULE_QUEUE_NAME, { connection: redis, prefix: deps.config.QUEUE_PREFIX });
    this.history = new ScheduleHistory(redis, deps.config.QUEUE_PREFIX);
  }

  /**
   * Checks the cron, zone, input and output as submit would, then creates the schedule or replaces
   * the one with that name. Returns the schedule's first fire time.
   */
  async add(schedule: NewSchedule): Promise<{ next: Date; replaced: boolean; data: ScheduleData }> {
    const name = checkScheduleName(schedule.name);
    const tz = schedule.tz === undefined ? undefined : checkTimeZone(schedule.tz);
    checkCron(schedule.cron, tz);
    const checked = await checkSubmission(
      { ...pickRunOptions(schedule, 'schedule add'), run: `${name}-schedule-check` },
      {
        config: this.deps.config,
        redisUrl: this.deps.redisUrl,
        ...(this.deps.openStore ? { openStore: this.deps.openStore } : {}),
        ...(this.deps.logger ? { logger: this.deps.logger } : {}),
      },
    );
    const data = parseScheduleData({
      v: SCHEDULE_DATA_VERSION,
      name,
      incremental: schedule.incremental ?? false,
      ...storedOptions(checked, 'schedule add'),
    });
    const replaced = (await this.queue.getJobScheduler(name)) !== undefined;
    const first = await this.queue.upsertJobScheduler(
      name,
      { pattern: schedule.cron.trim(), ...(tz === undefined ? {} : { tz }) },
      { name: SCHEDULE_JOB_NAME, data, opts: fireJobOptions },
    );
    // BullMQ's first firing, computed at upsert time (the checks above may have crossed a fire time).
    return { next: fireTime(first), replaced, data };
  }

  /** Every schedule, soonest next firing first. */
  async list(): Promise<ScheduleListing[]> {
    const schedulers = await this.queue.getJobSchedulers(0, -1, true);
    return Promise.all(
      schedulers.map(async (scheduler) => ({
        name: scheduler.key,
        cron: scheduler.pattern ?? `every ${scheduler.every} ms`,
        tz: scheduler.tz ?? null,
        next: scheduler.next == null ? null : new Date(scheduler.next),
        data: parseScheduleData(scheduler.template?.data),
        state: await this.history.state(scheduler.key),
      })),
    );
  }

  /**
   * Removes the schedule and any firing of it still waiting for a worker, so no run starts after
   * `rm`. Its history (runs fired, skips) stays. ConfigError when there is no such schedule.
   */
  async remove(name: string): Promise<void> {
    checkScheduleName(name);
    if (!(await this.queue.removeJobScheduler(name))) {
      throw new ConfigError(
        `no schedule named '${name}' under QUEUE_PREFIX ${this.deps.config.QUEUE_PREFIX}; see resnet-batch schedule ls`,
      );
    }
    const waiting = await this.queue.getJobs(['waiting', 'prioritized', 'delayed']);
    await Promise.all(waiting.filter((job) => job.repeatJobKey === name).map((job) => job.remove()));
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
