// BullMQ tracing is configured only when an OTLP endpoint is. The "collector" is a plain HTTP
// server that records what the exporter posts to it.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { configFromEnv } from '../../shared/config.ts';
import { queueTelemetry, startTracing } from '../../shared/observability/telemetry.ts';
import { useRedis } from '../harness/redis-server.ts';
import { uniqueName } from '../harness/unique-name.ts';

describe('tracing', () => {
  const redis = useRedis();

  test('without OTEL_EXPORTER_OTLP_ENDPOINT nothing is started and queue options carry no telemetry', async () => {
    const tracing = await startTracing(configFromEnv({}), 'test');
    assert.equal(tracing, undefined);
    assert.deepEqual(queueTelemetry(tracing), {});
  });

  test('with OTEL_EXPORTER_OTLP_ENDPOINT a Queue is given a BullMQ telemetry object, and adding a job exports a trace there', async () => {
    const posts: Array<{ path: string; type: string; bytes: number }> = [];
    const collector = createServer((request: IncomingMessage, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        posts.push({
          path: request.url ?? '',
          type: request.headers['content-type'] ?? '',
          bytes: Buffer.concat(chunks).length,
        });
        response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;

    const tracing = await startTracing(configFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }), 'test');
    assert.ok(tracing);
    const queue = new Queue('shards', {
      connection: { url: redis.url },
      prefix: uniqueName('otel'),
      ...queueTelemetry(tracing),
    });
    try {
      assert.equal(queue.opts.telemetry, tracing.telemetry);
      await queue.add('shard', { n: 1 });
    } finally {
      await queue.close();
      await tracing.shutdown();
      await new Promise((resolve) => collector.close(resolve));
    }
    assert.ok(posts.length >= 1, 'the exporter posted at least once');
    assert.equal(posts[0]?.path, '/v1/traces');
    assert.equal(posts[0]?.type, 'application/x-protobuf');
    assert.ok((posts[0]?.bytes ?? 0) > 0);
  });
});
