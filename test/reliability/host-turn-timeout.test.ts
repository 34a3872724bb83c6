import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ServerProcess } from '../harness/child-process.ts';
import { startWorkers, stopWorkers, submit } from '../harness/cli.ts';
import { type HttpImageServer, startHttpImageServer } from '../harness/http-image-server.ts';
import { startRedis, type TestRedis } from '../harness/redis-server.ts';
import { waitForRunDone } from '../harness/run-state.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * Issue 19: web images waiting for their host's turn timed out although the server answered each
 * request well within the limit, because the fetch clock (FETCH_TIMEOUT_MS) started before the
 * host's slot was granted. One slot per host, requests that each take a third of the limit, and
 * more images than fit in the limit one after another: every image must be an ok row.
 */

const IMAGES = 8;
const ANSWER_MS = 350;

let redis: TestRedis;
let server: HttpImageServer;
let workers: ServerProcess[] = [];
let dir: string;

before(async () => {
  redis = await startRedis();
  const body = await readFile(new URL('../fixtures/images/chelsea.png', import.meta.url));
  server = await startHttpImageServer({
    '/slow.png': (_request, response) => {
      setTimeout(() => response.writeHead(200, { 'content-type': 'image/png' }).end(body), ANSWER_MS);
    },
  });
  dir = await mkdtemp(join(tmpdir(), 'host-turn-'));
});

after(async () => {
  await stopWorkers(workers);
  await server?.stop();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

test("the fetch timeout starts when the host's slot is granted, not while the image waits its turn", async () => {
  const env = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: uniqueName('turn'),
    LOG_LEVEL: 'warn',
    METRICS_PORT: '0',
    HTTP_ALLOWED_HOSTS: server.hostPort,
    HTTP_PER_HOST_CONCURRENCY: '1',
    // Each request takes a third of this; all eight in turn take nearly three times as long.
    FETCH_TIMEOUT_MS: String(ANSWER_MS * 3),
    HTTP_TIMEOUT_MS: String(ANSWER_MS * 3),
  };
  const list = join(dir, 'urls.txt');
  await writeFile(list, Array.from({ length: IMAGES }, (_, i) => `${server.origin}/slow.png?i=${i}`).join('\n'));
  workers = await startWorkers(1, env);
  const { run } = await submit(list, join(dir, 'out'), { shardSize: IMAGES }, env);
  const record = await waitForRunDone(redis.url, env.QUEUE_PREFIX, run);
  assert.equal(server.maxConcurrent, 1);
  assert.deepEqual([record.images.ok, record.images.error], [IMAGES, 0]);
});
