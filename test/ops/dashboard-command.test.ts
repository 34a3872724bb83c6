// `resnet-batch dashboard`: bull-board and the run list on a real Redis, with and without basic
// auth, over real HTTP on loopback.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dashboardCredentials, isLoopback } from '../../ops/dashboard/dashboard-auth.ts';
import { dashboardCommand } from '../../ops/dashboard/dashboard-command.ts';
import { ConfigError } from '../../shared/errors.ts';
import { RunActivity } from '../../shared/run/run-activity.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import { basicAuth, DASHBOARD_CREDENTIALS, useDashboards } from '../harness/dashboards.ts';
import { useRedis } from '../harness/redis-server.ts';
import { uniqueName } from '../harness/unique-name.ts';

const credentials = DASHBOARD_CREDENTIALS;
const basic = basicAuth;

describe('dashboard', () => {
  const redis = useRedis();
  const start = useDashboards(redis);

  test('with credentials configured, a request without them gets 401 and a Basic challenge', async () => {
    const dashboard = await start(uniqueName('dash'), true);
    for (const path of ['runs', 'runs.json', 'queues', 'queues/api/queues']) {
      const response = await fetch(new URL(path, dashboard.url));
      assert.equal(response.status, 401, path);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      await response.text();
    }
  });

  test('with credentials configured, a wrong password gets 401 and the right one gets 200', async () => {
    const dashboard = await start(uniqueName('dash'), true);
    const wrong = await fetch(new URL('runs.json', dashboard.url), { headers: basic(credentials.user, 'wrong') });
    assert.equal(wrong.status, 401);
    await wrong.text();
    const right = await fetch(new URL('runs.json', dashboard.url), {
      headers: basic(credentials.user, credentials.password),
    });
    assert.equal(right.status, 200);
    assert.deepEqual(await right.json(), []);
  });

  test('on loopback without credentials, every page answers 200', async () => {
    const dashboard = await start(uniqueName('dash'), false);
    for (const path of ['runs', 'runs.json', 'queues']) {
      const response = await fetch(new URL(path, dashboard.url));
      assert.equal(response.status, 200, path);
      await response.text();
    }
  });

  test('the runs page lists a run created with RunRegistry, with its state, images (in-flight ones too) and shards', async () => {
    const prefix = uniqueName('dash');
    const registry = new RunRegistry(redis.client, prefix);
    await registry.create({
      run: 'nightly-001',
      input: 's3://bucket/images/',
      output: 's3://bucket/out/',
      model: 'default',
      inputRoots: ['s3://bucket/images/'],
      shardSize: 256,
      normalize: false,
      carriedColumns: [],
    });
    await registry.finishListing('nightly-001', { images: 600, skipped: 0, unchanged: 0, shards: 3 });
    await registry.markStarted('nightly-001');
    await registry.completeShard('nightly-001', 0, { ok: 250, error: 6 }, 'tfjs-node');
    // A worker 40 images into shard 1: counted as processed before the shard completes.
    await new RunActivity(redis.client, prefix).recordBatch('nightly-001', 1, 40, 40);
    const dashboard = await start(prefix, true);
    const headers = basic(credentials.user, credentials.password);

    const runs = (await (await fetch(new URL('runs.json', dashboard.url), { headers })).json()) as Array<
      Record<string, unknown>
    >;
    assert.equal(runs.length, 1);
    assert.equal(runs[0]?.run, 'nightly-001');
    assert.equal(runs[0]?.state, 'running');
    assert.deepEqual(runs[0]?.images, { total: 600, ok: 250, error: 6, skipped: 0, unchanged: 0, processed: 296 });
    assert.deepEqual(runs[0]?.shards, { total: 3, done: 1, failed: 0 });

    const html = await (await fetch(new URL('runs', dashboard.url), { headers })).text();
    assert.match(html, /<td>nightly-001<\/td><td>running<\/td>/);
    assert.match(html, /296 of 600 processed \(250 ok \/ 6 error\)/);
  });

  test('bull-board serves the shard queue of the configured prefix, its UI and static files', async () => {
    const prefix = uniqueName('dash');
    const dashboard = await start(prefix, false);
    const api = (await (await fetch(new URL('queues/api/queues', dashboard.url))).json()) as {
      queues: Array<{ name: string }>;
    };
    assert.deepEqual(
      api.queues.map((queue) => queue.name),
      ['shards'],
    );
    const page = await (await fetch(new URL('queues', dashboard.url))).text();
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(page)?.[1];
    assert.ok(script, 'the bull-board page references its main script');
    const asset = await fetch(new URL(`queues/${script}`, dashboard.url));
    assert.equal(asset.status, 200);
    await asset.text();
  });

  test('the dashboard command refuses 0.0.0.0 without credentials before connecting to anything', async () => {
    const saved = { user: process.env.DASHBOARD_USER, password: process.env.DASHBOARD_PASSWORD };
    delete process.env.DASHBOARD_USER;
    delete process.env.DASHBOARD_PASSWORD;
    try {
      await assert.rejects(
        dashboardCommand({ host: '0.0.0.0', port: 0 }),
        (error: unknown) =>
          error instanceof ConfigError &&
          /without a password.*set DASHBOARD_USER and DASHBOARD_PASSWORD/.test(error.message),
      );
    } finally {
      if (saved.user !== undefined) process.env.DASHBOARD_USER = saved.user;
      if (saved.password !== undefined) process.env.DASHBOARD_PASSWORD = saved.password;
    }
  });

  test('binding any non-loopback address without credentials is refused, naming the variables to set', () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.5']) {
      assert.throws(
        () => dashboardCredentials(host, {}),
        (error: unknown) => error instanceof ConfigError && /DASHBOARD_USER and DASHBOARD_PASSWORD/.test(error.message),
      );
    }
  });

  test('binding a non-loopback address with credentials is allowed', () => {
    assert.deepEqual(dashboardCredentials('0.0.0.0', { DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 'pw' }), {
      user: 'ops',
      password: 'pw',
    });
  });

  test('only one of DASHBOARD_USER and DASHBOARD_PASSWORD is refused, naming the missing one', () => {
    assert.throws(() => dashboardCredentials('127.0.0.1', { DASHBOARD_USER: 'ops' }), /set DASHBOARD_PASSWORD too/);
  });

  test('loopback addresses are 127.0.0.0/8, ::1 and localhost; wildcards are not', () => {
    assert.deepEqual(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'].map(isLoopback), [
      true,
      true,
      true,
      true,
      true,
    ]);
    assert.deepEqual(['0.0.0.0', '::', '192.168.1.2', 'example.com'].map(isLoopback), [false, false, false, false]);
  });
});
