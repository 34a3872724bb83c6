import assert from 'node:assert/strict';
import { mkdtemp, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { artifactCacheDir } from '../../model/model-cache.ts';
import { ScheduleHistory } from '../../schedule/schedule-history.ts';
import { ScheduleLock } from '../../schedule/schedule-lock.ts';
import { ScheduleRegistry } from '../../schedule/schedule-registry.ts';
import { fireTime, SCHEDULE_QUEUE_NAME, type ScheduleData, scheduledRunId } from '../../schedule/schedule-spec.ts';
import { ScheduledRunConsumer } from '../../schedule/scheduled-run-consumer.ts';
import { configFromEnv, type PipelineConfig, SHARD_QUEUE_NAME } from '../../shared/config.ts';
import { createLogger } from '../../shared/observability/logger.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { finishRunLikeAWorker } from '../harness/finish-run.ts';
import { copyFixtures } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

// A real model folder (the cached artifact): submit checks --model before anything else.
const MODEL = pathToFileURL(artifactCacheDir()).href;
const IMAGES = ['astronaut.png', 'chelsea.png', 'coffee.png', 'rocket.jpg'];
const logger = createLogger('test', 'silent');
const redis = useRedis();
const dir = useTempDir('producer-schedule-firing-');

interface Setup {
  prefix: string;
  config: PipelineConfig;
  input: string;
  data: ScheduleData;
  /** A consumer on this prefix, closed after the test; not consuming the queue unless start()ed. */
  consumer(): ScheduledRunConsumer;
}

async function setup(t: { after: (fn: () => Promise<void>) => void }, incremental = false): Promise<Setup> {
  const prefix = uniqueName('q');
  const config = configFromEnv({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix });
  const input = await copyFixtures(await mkdtemp(join(dir.path, 'in-')), IMAGES);
  const data: ScheduleData = {
    v: 1,
    name: 'nightly',
    input: pathToFileURL(input).href,
    // Each test its own output: a run id names one input for good, in Redis and on storage.
    output: pathToFileURL(join(dir.path, `out-${prefix}`)).href,
    normalize: false,
    incremental,
    shardSize: 2,
    model: MODEL,
  };
  const consumer = () => {
    const created = new ScheduledRunConsumer({ redisUrl: redis.url, config, logger });
    t.after(() => created.close());
    return created;
  };
  return { prefix, config, input, data, consumer };
}

async function shardJobCount(prefix: string): Promise<number> {
  const queue = new Queue(SHARD_QUEUE_NAME, { connection: redis.client, prefix });
  try {
    return await queue.getJobCountByTypes('waiting', 'delayed', 'prioritized');
  } finally {
    await queue.close();
  }
}

const at = (iso: string) => new Date(iso);

describe('a fired schedule', () => {
  test('becomes a run named after the schedule and the UTC fire time, recorded with its schedule', async (t) => {
    const s = await setup(t);
    const outcome = await s.consumer().fire(s.data, at('2026-03-01T03:00:00Z'));
    assert.deepEqual(outcome, {
      kind: 'submitted',
      run: 'nightly-20260301-030000',
      since: null,
      images: 4,
      enqueued: 2,
      resubmitted: false,
    });
    const record = await new RunRegistry(redis.client, s.prefix).get('nightly-20260301-030000');
    assert.equal(record?.schedule, 'nightly');
    assert.equal(record?.since, null);
    assert.equal(
      (await new ScheduleHistory(redis.client, s.prefix).state('nightly')).lastRun,
      'nightly-20260301-030000',
    );
  });

  test('fired twice at the same time is a resubmission that enqueues nothing', async (t) => {
    const s = await setup(t);
    const consumer = s.consumer();
    await consumer.fire(s.data, at('2026-03-01T03:00:00Z'));
    const again = await consumer.fire(s.data, at('2026-03-01T03:00:00Z'));
    assert.equal(again.kind, 'submitted');
    assert.deepEqual(again.kind === 'submitted' && { enqueued: again.enqueued, resubmitted: again.resubmitted }, {
      enqueued: 0,
      resubmitted: true,
    });
    assert.equal(await shardJobCount(s.prefix), 2);
  });

  test('fired again after its run finished does nothing', async (t) => {
    const s = await setup(t);
    const consumer = s.consumer();
    await consumer.fire(s.data, at('2026-03-01T03:00:00Z'));
    await finishRunLikeAWorker(redis.client, s.prefix, 'nightly-20260301-030000', (uri) => openStore(uri));
    assert.deepEqual(await consumer.fire(s.data, at('2026-03-01T03:00:00Z')), {
      kind: 'already-finished',
      run: 'nightly-20260301-030000',
    });
    assert.equal(await shardJobCount(s.prefix), 0);
  });

  test('is skipped, counted and given its reason while the previous run has not finished', async (t) => {
    const s = await setup(t);
    const consumer = s.consumer();
    await consumer.fire(s.data, at('2026-03-01T03:00:00Z'));
    const second = await consumer.fire(s.data, at('2026-03-02T03:00:00Z'));
    assert.equal(second.kind, 'skipped');
    assert.match(
      second.kind === 'skipped' ? second.reason : '',
      /run nightly-20260301-030000 of this schedule has not finished/,
    );
    assert.equal(await new RunRegistry(redis.client, s.prefix).get('nightly-20260302-030000'), null);
    const state = await new ScheduleHistory(redis.client, s.prefix).state('nightly');
    assert.deepEqual(
      { skipped: state.skipped, lastRun: state.lastRun },
      { skipped: 1, lastRun: 'nightly-20260301-030000' },
    );
  });

  test('runs again once the previous run has finished', async (t) => {
    const s = await setup(t);
    const consumer = s.consumer();
    await consumer.fire(s.data, at('2026-03-01T03:00:00Z'));
    await finishRunLikeAWorker(redis.client, s.prefix, 'nightly-20260301-030000', (uri) => openStore(uri));
    const next = await consumer.fire(s.data, at('2026-03-02T03:00:00Z'));
    assert.equal(next.kind, 'submitted');
  });

  test('two firings handled at once by two consumers submit one run and skip the other', async (t) => {
    const s = await setup(t);
    const outcomes = await Promise.all([
      s.consumer().fire(s.data, at('2026-03-01T03:00:00Z')),
      s.consumer().fire(s.data, at('2026-03-01T03:00:01Z')),
    ]);
    assert.deepEqual(outcomes.map((outcome) => outcome.kind).sort(), ['skipped', 'submitted']);
    const runs = await new ScheduleHistory(redis.client, s.prefix).runs('nightly');
    assert.equal(runs.length, 1);
  });

  test('is skipped while another firing of the schedule holds its lock', async (t) => {
    const s = await setup(t);
    const lease = await new ScheduleLock(redis.client, s.prefix).acquire('nightly');
    t.after(async () => lease?.release());
    const outcome = await s.consumer().fire(s.data, at('2026-03-01T03:00:00Z'));
    assert.equal(outcome.kind, 'skipped');
    assert.match(outcome.kind === 'skipped' ? outcome.reason : '', /being submitted/);
  });

  test('of an incremental schedule processes only what changed since its last finished run', async (t) => {
    const s = await setup(t, true);
    const consumer = s.consumer();
    const first = await consumer.fire(s.data, at('2026-03-01T03:00:00Z'));
    assert.deepEqual(first.kind === 'submitted' && { since: first.since, images: first.images }, {
      since: null,
      images: 4,
    });
    await finishRunLikeAWorker(redis.client, s.prefix, 'nightly-20260301-030000', (uri) => openStore(uri));
    const later = new Date(Date.now() + 60_000);
    await utimes(join(s.input, 'coffee.png'), later, later);
    const second = await consumer.fire(s.data, at('2026-03-02T03:00:00Z'));
    assert.deepEqual(second.kind === 'submitted' && { since: second.since, images: second.images }, {
      since: 'nightly-20260301-030000',
      images: 1,
    });
    assert.equal(
      (await new RunRegistry(redis.client, s.prefix).get('nightly-20260302-030000'))?.since,
      'nightly-20260301-030000',
    );
  });
});

describe('schedules and running workers', () => {
  test('a firing while no consumer runs waits, alone, and becomes a run when one starts', async (t) => {
    const s = await setup(t);
    const schedules = new ScheduleRegistry(redis.client, { config: s.config, redisUrl: redis.url });
    t.after(() => schedules.close());
    const added = await schedules.add({
      name: 'each-second',
      cron: '* * * * * *',
      input: s.input,
      output: join(dir.path, 'out'),
      shardSize: 2,
      model: MODEL,
    });
    // Two fire times pass with nobody consuming: one firing is pending, not two.
    await sleep(added.next.getTime() - Date.now() + 1200);
    const queue = new Queue(SCHEDULE_QUEUE_NAME, { connection: redis.client, prefix: s.prefix });
    t.after(() => queue.close());
    assert.equal(await queue.getJobCountByTypes('waiting', 'delayed', 'prioritized'), 1);
    assert.deepEqual(await new ScheduleHistory(redis.client, s.prefix).runs('each-second'), []);

    s.consumer().start();
    await waitFor(async () =>
      (await new ScheduleHistory(redis.client, s.prefix).runs('each-second')).includes(
        scheduledRunId('each-second', added.next),
      ),
    );
    await schedules.remove('each-second');
    const record = await waitForRecord(s.prefix, scheduledRunId('each-second', added.next));
    assert.equal(record.schedule, 'each-second');
  });
});

test('the fire time of a scheduler job is read from its id', () => {
  assert.equal(
    fireTime({ id: 'repeat:nightly:1772334000000', timestamp: 1, delay: 0 }).toISOString(),
    '2026-03-01T03:00:00.000Z',
  );
  assert.equal(
    fireTime({ id: 'by-hand', timestamp: 1772334000000, delay: 1000 }).toISOString(),
    '2026-03-01T03:00:01.000Z',
  );
});

async function waitForRecord(prefix: string, run: string) {
  const registry = new RunRegistry(redis.client, prefix);
  await waitFor(async () => (await registry.get(run))?.listingDone === true);
  return (await registry.get(run))!;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}
