// A cross-site request to the dashboard: on 127.0.0.1 without a password (the default), a
// cross-origin `text/plain` POST (which browsers send without a preflight) to bull-board's add-job
// endpoint used to answer 200, so any web page the operator opened could add jobs (a forged
// finaliser, say). Requests that change jobs now need credentials always, and cross-origin,
// cross-site or non-JSON ones are refused even with them. Real HTTP on loopback, a real Redis.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { basicAuth, DASHBOARD_CREDENTIALS, useDashboards } from '../harness/dashboards.ts';
import { useRedis } from '../harness/redis-server.ts';
import { uniqueName } from '../harness/unique-name.ts';

const credentials = DASHBOARD_CREDENTIALS;
const basic = basicAuth;
const redis = useRedis();
const start = useDashboards(redis);

describe('requests that change jobs', () => {
  const addJob = 'queues/api/queues/shards/add';
  const jobBody = JSON.stringify({ name: 'finalize', data: { v: 2, run: 'x', generation: 0 } });

  async function queued(prefix: string): Promise<number> {
    const { Queue } = await import('bullmq');
    const queue = new Queue('shards', { connection: redis.client, prefix });
    try {
      return await queue.count();
    } finally {
      await queue.close();
    }
  }

  test('on loopback without credentials, the dashboard is read-only: a cross-origin text/plain POST gets 403 and adds nothing', async () => {
    const prefix = uniqueName('dash');
    const dashboard = await start(prefix, false);
    const attempts: Array<Record<string, string>> = [
      { 'content-type': 'text/plain', origin: 'https://evil.example' },
      { 'content-type': 'application/json' },
    ];
    for (const headers of attempts) {
      const response = await fetch(new URL(addJob, dashboard.url), { method: 'POST', headers, body: jobBody });
      assert.equal(response.status, 403, JSON.stringify(headers));
      assert.match(await response.text(), /read-only without DASHBOARD_USER and DASHBOARD_PASSWORD|cross-origin/);
    }
    assert.equal(await queued(prefix), 0);
  });

  test('with credentials, a cross-origin or cross-site request is refused even when it carries them', async () => {
    const prefix = uniqueName('dash');
    const dashboard = await start(prefix, true);
    const auth = basic(credentials.user, credentials.password);
    const refused = [
      { ...auth, 'content-type': 'application/json', origin: 'https://evil.example' },
      { ...auth, 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' },
      { ...auth, 'content-type': 'text/plain' },
    ];
    for (const headers of refused) {
      const response = await fetch(new URL(addJob, dashboard.url), { method: 'POST', headers, body: jobBody });
      assert.ok([403, 415].includes(response.status), `${JSON.stringify(headers)}: ${response.status}`);
      await response.text();
    }
    assert.equal(await queued(prefix), 0);
  });

  test('with credentials, a same-origin JSON request that carries them goes through', async () => {
    const prefix = uniqueName('dash');
    const dashboard = await start(prefix, true);
    const response = await fetch(new URL(addJob, dashboard.url), {
      method: 'POST',
      headers: {
        ...basic(credentials.user, credentials.password),
        'content-type': 'application/json',
        origin: dashboard.url.replace(/\/$/, ''),
      },
      body: jobBody,
    });
    assert.equal(response.status, 200, await response.text());
    assert.equal(await queued(prefix), 1);
  });
});
