import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { artifactCacheDir } from '../../model/model-cache.ts';
import { ScheduleRegistry } from '../../schedule/schedule-registry.ts';
import { ScheduledRunConsumer } from '../../schedule/scheduled-run-consumer.ts';
import { configFromEnv } from '../../shared/config.ts';
import { createLogger } from '../../shared/observability/logger.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import { startRedis, type TestRedis } from '../harness/redis-server.ts';
import { uniqueName } from '../harness/unique-name.ts';

const fixtures = new URL('../fixtures/images/', import.meta.url);
// A real model folder (the cached artifact): submit checks --model before anything else.
const MODEL = pathToFileURL(artifactCacheDir()).href;
let redis: TestRedis;
let client: Redis;
let dir: string;

before(async () => {
  redis = await startRedis();
  client = new Redis(redis.url, { maxRetriesPerRequest: null });
  dir = await mkdtemp(join(tmpdir(), 'schedule-url-column-'));
});

after(async () => {
  client?.disconnect();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('schedule add --url-column is stored with the schedule and lists the firing’s run by that column', async (t) => {
  const prefix = uniqueName('q');
  const config = configFromEnv({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix });
  const images = await mkdtemp(join(dir, 'images-'));
  const links: string[] = [];
  for (const name of ['chelsea.png', 'coffee.png']) {
    await copyFile(new URL(name, fixtures), join(images, name));
    links.push(pathToFileURL(join(images, name)).href);
  }
  // No `url` or `uri` column: without --url-column this list cannot be read.
  const csv = join(dir, 'links.csv');
  await writeFile(csv, ['image_link,caption', `${links[0]},a cat`, `${links[1]},a cup`].join('\n'));

  const schedules = new ScheduleRegistry(client, { config, redisUrl: redis.url });
  t.after(() => schedules.close());
  await schedules.add({
    name: 'links',
    cron: '0 3 * * *',
    input: csv,
    output: join(dir, 'out'),
    model: MODEL,
    urlColumn: 'image_link',
  });
  const [listed] = await schedules.list();
  assert.equal(listed?.data.urlColumn, 'image_link');

  const consumer = new ScheduledRunConsumer({ redisUrl: redis.url, config, logger: createLogger('test', 'silent') });
  t.after(() => consumer.close());
  const fired = await consumer.fire(listed!.data, new Date('2026-03-01T03:00:00Z'));
  assert.equal(fired.kind, 'submitted');
  assert.equal(fired.kind === 'submitted' && fired.images, 2);
  const record = await new RunRegistry(client, prefix).get(fired.run);
  assert.equal(record?.urlColumn, 'image_link');
  assert.deepEqual(record?.carriedColumns, [{ name: 'caption', type: 'string' }]);
});
