import type { Job } from 'bullmq';
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { ConfigError } from '../shared/errors.ts';
import { storedOptionsShape } from '../shared/run/run-fields.ts';
import { RUN_OPTIONS, type RunOptionTable, type StoredOptions } from '../shared/run/run-options.ts';
import { schemaProblems } from '../shared/schema-problems.ts';

/**
 * What a schedule is: a name, when it fires (cron pattern and time zone, kept by BullMQ's job
 * scheduler) and the submit it does each time (the job template's data, below). No I/O here.
 *
 * Each firing becomes a run with the id `<name>-YYYYMMDD-HHMMSS` (UTC fire time, see
 * scheduledRunId), so a firing handled twice resubmits the same run and enqueues nothing new.
 */

/** BullMQ queue of fired schedules (same QUEUE_PREFIX as the shard queue); workers consume it. */
export const SCHEDULE_QUEUE_NAME = 'schedules';

/** Name of every job a schedule fires. */
export const SCHEDULE_JOB_NAME = 'fire';

/**
 * Schedule names: 1-48 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit. They
 * become BullMQ scheduler ids (no ':') and run id prefixes; 48 + the 16-character fire time stays
 * within the 64 characters of RUN_ID_PATTERN.
 */
export const SCHEDULE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$/;

/** Version of ScheduleData; a consumer refuses firings of a version it does not know. */
export const SCHEDULE_DATA_VERSION = 1;

/**
 * The data of each fired job for a run options table: the version, the schedule's name, whether
 * it is incremental, and the run options `schedule add` takes (shared/run/run-options.ts), as
 * storedOptions writes them. Each is resolved at add time (the input and output canonical, the
 * model and precision from the environment then), so every firing runs the same submit. Fields
 * added since v1 may be absent: normalize (false), precision (fp32), urlColumn (the default).
 */
export function scheduleDataSchemaFor(table: RunOptionTable) {
  return z
    .object({
      v: z.literal(SCHEDULE_DATA_VERSION),
      name: z.string().regex(SCHEDULE_NAME_PATTERN),
      /** Only images new or changed since the schedule's last finished run (incremental-filter.ts). */
      incremental: z.boolean(),
      ...storedOptionsShape('schedule add', table),
    })
    .strict();
}

export const scheduleDataSchema = scheduleDataSchemaFor(RUN_OPTIONS);

/** The data of each fired job: the submit to run. */
export type ScheduleData = {
  v: typeof SCHEDULE_DATA_VERSION;
  name: string;
  incremental: boolean;
} & StoredOptions<'schedule add'>;

/** The one place fired job data is parsed from `unknown`. */
export function parseScheduleData(data: unknown): ScheduleData {
  const parsed = scheduleDataSchema.safeParse(data);
  if (parsed.success) return parsed.data as ScheduleData;
  throw new ConfigError(
    `fired schedule job data is invalid (expected resnet-batch schedule data v${SCHEDULE_DATA_VERSION}): ${schemaProblems(parsed.error)}; re-add the schedule with resnet-batch schedule add`,
  );
}

export function checkScheduleName(name: string): string {
  if (!SCHEDULE_NAME_PATTERN.test(name)) {
    throw new ConfigError(
      `schedule name '${name}' is not allowed; expected 1-48 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit (like nightly-catalogue)`,
    );
  }
  return name;
}

/** Throws ConfigError unless `zone` is an IANA time zone this Node knows (e.g. Europe/Paris, UTC). */
export function checkTimeZone(zone: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw new ConfigError(
      `time zone '${zone}' is unknown; expected an IANA zone name like UTC, Europe/Paris or America/New_York (see timedatectl list-timezones)`,
    );
  }
  return zone;
}

/**
 * Validates a cron pattern with the parser BullMQ schedules with (cron-parser, same version):
 * 5 fields (minute hour day-of-month month day-of-week), 6 with a leading seconds field, or a
 * macro (@hourly, @daily, @weekly, @monthly, @yearly). Returns the next fire time, for messages.
 * cron-parser itself accepts fewer fields (filling in the rest), which hides typos, hence the count.
 */
export function checkCron(pattern: string, zone?: string): Date {
  const trimmed = pattern.trim();
  const fields = trimmed.split(/\s+/).length;
  const macro = trimmed.startsWith('@');
  const fix =
    'expected 5 fields (minute hour day-of-month month day-of-week, e.g. "0 3 * * *" for 03:00 daily), 6 with leading seconds, or @hourly/@daily/@weekly/@monthly';
  if (!macro && fields !== 5 && fields !== 6)
    throw new ConfigError(`cron expression "${pattern}" has ${fields} field(s); ${fix}`);
  try {
    return CronExpressionParser.parse(trimmed, zone === undefined ? {} : { tz: checkTimeZone(zone) })
      .next()
      .toDate();
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cron expression "${pattern}" is invalid (${(error as Error).message}); ${fix}`);
  }
}

/** `<name>-YYYYMMDD-HHMMSS` of the UTC fire time: the same firing always names the same run. */
export function scheduledRunId(name: string, firedAt: Date): string {
  const stamp = firedAt.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${name}-${stamp}`;
}

/**
 * The instant the scheduler meant the job for: BullMQ names scheduler jobs
 * `repeat:<scheduler id>:<ms>`; a job added by hand falls back to its creation time plus delay.
 */
export function fireTime(job: Pick<Job, 'id' | 'timestamp' | 'delay'>): Date {
  const match = /^repeat:.+:(\d+)$/.exec(job.id ?? '');
  return new Date(match?.[1] !== undefined ? Number(match[1]) : job.timestamp + (job.delay ?? 0));
}
