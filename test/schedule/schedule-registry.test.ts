import assert from 'node:assert/strict';
import { copyFile, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { artifactCacheDir } from '../../model/model-cache.ts';
import { ScheduleRegistry } from '../../schedule/schedule-registry.ts';
import { SCHEDULE_QUEUE_NAME } from '../../schedule/schedule-spec.ts';
import { configFromEnv } from '../../shared/config.ts';
import { ConfigError } from '../../shared/errors.ts';
import { fixturePath } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { setUp } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

// A real model folder (the cached artifact): submit checks --model before anything else.
const MODEL = pathToFileURL(artifactCacheDir()).href;
const redis = useRedis();
const dir = useTempDir('producer-schedule-');
let input: string;

setUp(async () => {
  input = await mkdtemp(join(dir.path, 'in-'));
  await copyFile(fixturePath('chelsea.png'), join(input, 'chelsea.png'));
});

/** A registry on a fresh queue prefix; closed after the test. */
function schedules(t: { after: (fn: () => Promise<void>) => void }): ScheduleRegistry & { prefix: string } {
  const prefix = uniqueName('q');
  const registry = new ScheduleRegistry(redis.client, {
    config: configFromEnv({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix }),
    redisUrl: redis.url,
  });
  t.after(() => registry.close());
  return Object.assign(registry, { prefix });
}

const refusedWith = (pattern: RegExp) => (error: unknown) =>
  error instanceof ConfigError && pattern.test(error.message);

describe('schedule add, ls and rm', () => {
  test('an added schedule is listed with its cron, zone, next firing and submit, and rm removes it', async (t) => {
    const registry = schedules(t);
    const added = await registry.add({
      name: 'nightly',
      cron: '0 3 * * *',
      tz: 'Europe/Paris',
      input,
      output: join(dir.path, 'out'),
      incremental: true,
      shardSize: 8,
      normalize: false,
      model: MODEL,
    });
    assert.equal(added.replaced, false);
    const [listed, ...rest] = await registry.list();
    assert.equal(rest.length, 0);
    assert.equal(listed?.name, 'nightly');
    assert.equal(listed?.cron, '0 3 * * *');
    assert.equal(listed?.tz, 'Europe/Paris');
    assert.equal(listed?.next?.getTime(), added.next.getTime());
    assert.deepEqual(listed?.data, {
      v: 1,
      name: 'nightly',
      input: pathToFileURL(input).href,
      output: pathToFileURL(join(dir.path, 'out')).href,
      incremental: true,
      shardSize: 8,
      normalize: false,
      model: MODEL,
    });
    await registry.remove('nightly');
    assert.deepEqual(await registry.list(), []);
  });

  test('the next firing of a zoned schedule is at that wall-clock time in the zone', async (t) => {
    const registry = schedules(t);
    const added = await registry.add({
      name: 'tokyo',
      cron: '30 9 * * *',
      tz: 'Asia/Tokyo',
      input,
      output: join(dir.path, 'out'),
      model: MODEL,
    });
    // 09:30 in Tokyo (UTC+9, no daylight saving) is 00:30 UTC.
    assert.deepEqual([added.next.getUTCHours(), added.next.getUTCMinutes()], [0, 30]);
  });

  test('adding a name again replaces the schedule instead of adding a second one', async (t) => {
    const registry = schedules(t);
    await registry.add({ name: 'hourly', cron: '0 * * * *', input, output: join(dir.path, 'out'), model: MODEL });
    const again = await registry.add({
      name: 'hourly',
      cron: '15 * * * *',
      input,
      output: join(dir.path, 'out'),
      model: MODEL,
    });
    assert.equal(again.replaced, true);
    const listed = await registry.list();
    assert.deepEqual(
      listed.map((schedule) => schedule.cron),
      ['15 * * * *'],
    );
  });

  test('an invalid cron expression is refused with the expected form', async (t) => {
    const registry = schedules(t);
    await assert.rejects(
      registry.add({ name: 'bad', cron: '61 * * * *', input, output: join(dir.path, 'out'), model: MODEL }),
      refusedWith(/cron expression "61 \* \* \* \*" is invalid.*expected 5 fields/),
    );
    assert.deepEqual(await registry.list(), []);
  });

  test('a cron expression with a missing field is refused rather than completed silently', async (t) => {
    const registry = schedules(t);
    await assert.rejects(
      registry.add({ name: 'short', cron: '0 3 *', input, output: join(dir.path, 'out'), model: MODEL }),
      refusedWith(/has 3 field\(s\)/),
    );
  });

  test('an unknown time zone is refused with examples of valid ones', async (t) => {
    const registry = schedules(t);
    await assert.rejects(
      registry.add({
        name: 'mars',
        cron: '0 3 * * *',
        tz: 'Mars/Olympus',
        input,
        output: join(dir.path, 'out'),
        model: MODEL,
      }),
      refusedWith(/time zone 'Mars\/Olympus' is unknown.*Europe\/Paris/),
    );
  });

  test('a missing input is refused as submit refuses it, and nothing is saved', async (t) => {
    const registry = schedules(t);
    await assert.rejects(
      registry.add({
        name: 'gone',
        cron: '0 3 * * *',
        input: join(dir.path, 'no-such-folder'),
        output: join(dir.path, 'out'),
        model: MODEL,
      }),
      refusedWith(/does not exist/),
    );
    assert.deepEqual(await registry.list(), []);
  });

  test('a name that cannot prefix a run id is refused', async (t) => {
    const registry = schedules(t);
    await assert.rejects(
      registry.add({ name: 'a:b', cron: '0 3 * * *', input, output: join(dir.path, 'out'), model: MODEL }),
      refusedWith(/schedule name 'a:b' is not allowed/),
    );
  });

  test('removing an unknown schedule is refused', async (t) => {
    const registry = schedules(t);
    await assert.rejects(registry.remove('never-added'), refusedWith(/no schedule named 'never-added'/));
  });

  test('rm also drops a firing that is due but no worker took yet', async (t) => {
    const registry = schedules(t);
    const added = await registry.add({
      name: 'every-second',
      cron: '* * * * * *',
      input,
      output: join(dir.path, 'out'),
      model: MODEL,
    });
    const queue = new Queue(SCHEDULE_QUEUE_NAME, { connection: redis.client, prefix: registry.prefix });
    t.after(() => queue.close());
    await new Promise((resolve) => setTimeout(resolve, added.next.getTime() - Date.now() + 200));
    assert.equal(await queue.getJobCountByTypes('waiting', 'delayed', 'prioritized'), 1);
    await registry.remove('every-second');
    assert.equal(await queue.getJobCountByTypes('waiting', 'delayed', 'prioritized'), 0);
  });
});
