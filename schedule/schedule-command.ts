import { configFromEnv } from '../shared/config.ts';
import { createLogger } from '../shared/observability/logger.ts';

import { connectRedis, reachableRedisUrl } from '../shared/queue/redis-connection.ts';
import { type NewSchedule, type ScheduleListing, ScheduleRegistry } from './schedule-registry.ts';

/**
 * `resnet-batch schedule add <name> --cron "<expr>" [--tz <zone>] <input> --output <uri>
 * [--incremental] [run options: --shard-size, --model, --precision, --normalize, --url-column; see
 * shared/run/run-options.ts]`, `schedule ls [--json]`, `schedule rm <name>`.
 *
 * Schedules fire into Redis; running workers (`resnet-batch worker`) submit the runs (see
 * scheduled-run-consumer.ts). Output for people goes to stderr, `ls --json` to stdout.
 * Exit codes: 0 done; anything fatal (a bad cron, zone, input or output included) is thrown, and
 * bin/cli.ts prints it and exits 1.
 */
/** The flags of `schedule add`: a schedule's fields but its name and input, which are arguments. */
export type ScheduleAddOptions = Omit<NewSchedule, 'name' | 'input'>;

export async function scheduleAddCommand(name: string, input: string, options: ScheduleAddOptions): Promise<number> {
  return withSchedules(async (schedules) => {
    const added = await schedules.add({ name, input, ...options });
    const mode = added.data.incremental ? 'incremental' : 'full';
    process.stderr.write(
      `schedule ${name} ${added.replaced ? 'replaced' : 'added'}: ${mode} runs of ${added.data.input} into ${added.data.output}; next firing ${added.next.toISOString()}\n`,
    );
    process.stderr.write(
      'runs are submitted by running workers (resnet-batch worker); a firing with no worker running waits for one\n',
    );
  });
}

export async function scheduleListCommand(options: { json: boolean }): Promise<number> {
  return withSchedules(async (schedules) => {
    const listed = await schedules.list();
    if (options.json) {
      process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
      return;
    }
    if (listed.length === 0) process.stderr.write('no schedules\n');
    for (const schedule of listed) process.stdout.write(`${describeSchedule(schedule)}\n`);
  });
}

export async function scheduleRemoveCommand(name: string): Promise<number> {
  return withSchedules(async (schedules) => {
    await schedules.remove(name);
    process.stderr.write(`schedule ${name} removed (its runs and history are kept)\n`);
  });
}

function describeSchedule(schedule: ScheduleListing): string {
  const { data, state } = schedule;
  const when = `"${schedule.cron}"${schedule.tz ? ` ${schedule.tz}` : ' UTC'}`;
  const next = schedule.next ? schedule.next.toISOString() : '-';
  const last = state.lastRun ? `${state.lastRun} (fired ${state.lastFiredAt})` : 'none yet';
  const skips = state.skipped > 0 ? `; ${state.skipped} firing(s) skipped, last: ${state.lastSkipReason}` : '';
  return `${schedule.name}\t${when}\tnext ${next}\t${data.incremental ? 'incremental' : 'full'}\t${data.input} -> ${data.output}\tlast run ${last}${skips}`;
}

async function withSchedules(action: (schedules: ScheduleRegistry) => Promise<void>): Promise<number> {
  const config = configFromEnv();
  const redisUrl = await reachableRedisUrl(config.REDIS_URL, 'schedules live in the Redis the workers use');
  const redis = connectRedis(redisUrl);
  const schedules = new ScheduleRegistry(redis, { config, redisUrl, logger: createLogger('schedule') });
  try {
    await action(schedules);
    return 0;
  } finally {
    await schedules.close();
    redis.disconnect();
  }
}
