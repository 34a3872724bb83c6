import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../shared/storage/open-store.ts';
import { type ServerProcess, startServerProcess } from '../harness/child-process.ts';
import { cliEnv, startWorkers, stopWorkers, submit } from '../harness/cli.ts';
import { readFixture } from '../harness/fixtures.ts';
import { type HttpImageServer, serve, stall, startHttpImageServer } from '../harness/http-image-server.ts';
import { useRedis } from '../harness/redis-server.ts';
import { type ReadRow, readRunOutput } from '../harness/run-output.ts';
import { waitForRunDone } from '../harness/run-state.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { CAT_CLASSES } from './pipeline-inputs.ts';

/**
 * Web inputs end to end, as a user runs them: a CSV list of http URLs with a caption column,
 * served by the test's own HTTP server on loopback, submitted with the real CLI and processed by
 * a real worker process with the real model. The server is on a loopback address, so the workers
 * reach it only because HTTP_ALLOWED_HOSTS names it; a second run without that sends the same URL
 * to a worker that must refuse it without a single request reaching the server.
 */

const nullWorkerEntry = fileURLToPath(new URL('../harness/null-worker.ts', import.meta.url));

const redis = useRedis();
let server: HttpImageServer;
const dir = useTempDir('web-inputs-');

setUp(async () => {
  const image = (name: string) => readFixture(name);
  server = await startHttpImageServer({
    '/img/chelsea.png': serve(await image('chelsea.png'), { etag: '"chelsea-v1"' }),
    // No extension, and a query: web URLs often look like this.
    '/photo': serve(await image('coffee.png')),
    '/img/rocket.jpg': serve(await image('rocket.jpg'), { 'last-modified': 'Tue, 01 Dec 2026 10:00:00 GMT' }),
    '/img/stalls.jpg': stall(),
  });
});

teardown(async () => {
  await server?.stop();
});

/** `uri -> the rows naming it`, over the metadata and errors parts of every shard. */
function rowsByUri(rows: readonly ReadRow[]): Map<string, ReadRow[]> {
  const byUri = new Map<string, ReadRow[]>();
  for (const row of rows) byUri.set(row.uri, [...(byUri.get(row.uri) ?? []), row]);
  return byUri;
}

describe('a CSV list of http URLs', () => {
  let workers: ServerProcess[] = [];
  after(async () => {
    await stopWorkers(workers);
  });

  test('runs end to end: every URL exactly once, captions carried, a 404 and a timeout as error rows', async () => {
    const prefix = uniqueName('web');
    const env = cliEnv(redis.url, prefix, { HTTP_ALLOWED_HOSTS: server.hostPort, HTTP_TIMEOUT_MS: '2000' });
    const urls = {
      cat: `${server.origin}/img/chelsea.png`,
      coffee: `${server.origin}/photo?id=coffee`,
      rocket: `${server.origin}/img/rocket.jpg`,
      missing: `${server.origin}/img/missing.png`,
      stalls: `${server.origin}/img/stalls.jpg`,
    };
    const list = join(dir.path, 'urls.csv');
    await writeFile(
      list,
      [
        'url,caption',
        `${urls.cat},"a cat, on a chair"`,
        `${urls.coffee},a cup of coffee`,
        `${urls.rocket},a rocket`,
        `${urls.missing},a photo that is gone`,
        `${urls.stalls},a server that never finishes`,
        `${urls.cat},the cat again (a repeated URL is listed once)`,
      ].join('\n'),
    );
    const output = join(dir.path, 'out');
    workers = await startWorkers(1, env);
    const { run } = await submit(list, output, { shardSize: 3 }, env);
    const record = await waitForRunDone(redis.url, prefix, run);
    assert.deepEqual(record.images, { total: 5, ok: 3, error: 2, skipped: 1, unchanged: 0 });

    const result = await readRunOutput(openStore(output), output, run);
    const rows = result.parts.flatMap((part) => part.rows);
    const byUri = rowsByUri(rows);
    assert.deepEqual([...byUri.keys()].sort(), Object.values(urls).sort());
    for (const [uri, named] of byUri) assert.equal(named.length, 1, `${uri} has ${named.length} rows`);

    const cat = byUri.get(urls.cat)![0]!;
    assert.equal(cat.status, 'ok');
    assert.equal(cat.caption, 'a cat, on a chair');
    assert.equal(cat.etag, 'chelsea-v1');
    assert.ok(CAT_CLASSES.includes(cat.top_labels![0]!), `chelsea is ${cat.top_labels}`);
    assert.equal(byUri.get(urls.coffee)![0]!.top_labels![0], 'espresso');
    assert.equal(byUri.get(urls.rocket)![0]!.etag, 'Tue, 01 Dec 2026 10:00:00 GMT');

    const missing = byUri.get(urls.missing)![0]!;
    assert.match(missing.error ?? '', /^HTTP_404: /);
    assert.equal(missing.caption, 'a photo that is gone');
    const stalls = byUri.get(urls.stalls)![0]!;
    assert.match(stalls.error ?? '', /^TIMEOUT: /);
    assert.equal(stalls.caption, 'a server that never finishes');
    assert.deepEqual(result.manifest.carried_columns, [{ name: 'caption', type: 'string' }]);
  });
});

describe('the same URL without HTTP_ALLOWED_HOSTS', () => {
  let worker: ServerProcess | undefined;
  after(async () => {
    await worker?.stop('SIGTERM', 30_000);
  });

  test('is an error row that says why, and no request reaches the server', async () => {
    const prefix = uniqueName('web-blocked');
    const env = { REDIS_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn', METRICS_PORT: '0' };
    // What the worker does around its engine is under test, not the model: the null engine.
    ({ server: worker } = await startServerProcess(process.execPath, ['--import', 'tsx', nullWorkerEntry], {
      env: { ...process.env, ...env, LOG_LEVEL: 'info', HTTP_ALLOWED_HOSTS: '' },
      ready: /"msg":"worker ready"/,
      timeoutMs: 60_000,
    }));
    const list = join(dir.path, 'blocked.csv');
    await writeFile(list, `url,caption\n${server.origin}/img/chelsea.png,a cat\n`);
    const requestsBefore = server.requests.length;
    const connectionsBefore = server.connections;
    const output = join(dir.path, 'out-blocked');
    const { run } = await submit(list, output, {}, env);
    await waitForRunDone(redis.url, prefix, run);

    const rows = (await readRunOutput(openStore(output), output, run)).parts.flatMap((part) => part.rows);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.status, 'error');
    assert.equal(rows[0]?.caption, 'a cat');
    assert.match(
      rows[0]?.error ?? '',
      /^BLOCKED_ADDRESS: 127\.0\.0\.1 is a loopback address, which web inputs may not reach; add 127\.0\.0\.1:\d+ to HTTP_ALLOWED_HOSTS/,
    );
    assert.equal(server.requests.length, requestsBefore);
    assert.equal(server.connections, connectionsBefore);
  });
});
