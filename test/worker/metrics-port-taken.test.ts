import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Logger, pino } from 'pino';
import { configFromEnv } from '../../shared/config.ts';
import { freePort } from '../../shared/free-port.ts';
import { startObservability } from '../../worker/worker-observability.ts';
import { startRedis, type TestRedis } from '../harness/redis-server.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * Issue 19: two workers on one host with one METRICS_PORT do not fight over it: the second
 * serves /metrics, /healthz and /readyz on a free port and logs which. Two metrics servers of
 * two workers (startObservability, as worker-service.ts starts it), a real Redis.
 */

let redis: TestRedis;

before(async () => {
  redis = await startRedis();
});

after(async () => {
  await redis?.stop();
});

function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }), lines };
}

describe('a metrics port already taken by another worker', () => {
  test('the second worker serves its metrics on a free port and logs it, the first keeps its port', async () => {
    const port = await freePort();
    const config = { ...configFromEnv(), QUEUE_PREFIX: uniqueName('metrics') };
    const first = capturingLogger();
    const second = capturingLogger();
    const one = await startObservability(port, redis.url, config, first.logger);
    const two = await startObservability(port, redis.url, config, second.logger);
    try {
      assert.equal(one.server?.port, port);
      const other = two.server?.port;
      assert.ok(other !== undefined && other !== port, `second server on ${other}`);
      for (const served of [port, other]) {
        const response = await fetch(`http://127.0.0.1:${served}/metrics`);
        assert.equal(response.status, 200);
        assert.match(await response.text(), /resnet_batch_/);
      }
      const warning = second.lines
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .find((entry) => entry.level === 40);
      assert.ok(warning, second.lines.join(''));
      assert.match(warning.msg, new RegExp(`metrics port ${port} is taken.* on port ${other} instead`));
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});
