// The worker's /metrics: served over real HTTP, fed by the real shard pipeline (tfjs-wasm,
// fixture images, a local output folder) and by a real BullMQ queue on a real Redis.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { freePort } from '../../shared/free-port.ts';
import type { InferenceEngine } from '../../shared/inference/engine.ts';
import { PACKAGED_MODEL } from '../../shared/inference/model-ref.ts';
import { JOB_PAYLOAD_VERSION, type ShardJob } from '../../shared/queue/job-payload.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { openEngine } from '../../worker/engines/open-engine.ts';
import { processShard } from '../../worker/process-shard.ts';
import {
  createWorkerMetrics,
  type MetricsServer,
  startMetricsServer,
  type WorkerMetrics,
} from '../../worker/worker-metrics.ts';
import { FIXTURES_DIR, fixturePath } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { teardown } from '../harness/set-up-scope.ts';
import { uniqueName } from '../harness/unique-name.ts';

/** The value of one sample in Prometheus text exposition, or undefined when it is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = match[2] ? match[2].split(',') : [];
    if (wanted.every((pair) => present.includes(pair)) && present.length === wanted.length) return Number(match[3]);
  }
  return undefined;
}

async function serve(metrics: WorkerMetrics, servers: MetricsServer[]): Promise<string> {
  const server = await startMetricsServer(metrics.registry, { port: 0, host: '127.0.0.1' });
  servers.push(server);
  return `http://127.0.0.1:${server.port}/metrics`;
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
  return response.text();
}

describe('worker metrics', () => {
  const redis = useRedis();
  let engine: InferenceEngine;
  let labels: readonly string[];
  const servers: MetricsServer[] = [];
  const queues: Queue[] = [];

  before(async () => {
    const opened = await openEngine({ choice: 'tfjs-wasm', modelRef: PACKAGED_MODEL });
    engine = opened.engine;
    labels = opened.model.labels;
  });

  teardown(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await Promise.all(queues.map((queue) => queue.close()));
    await engine?.dispose();
  });

  test('a processed shard shows up as images by status, errors by code, batch latency and stage seconds', async () => {
    const metrics = createWorkerMetrics({ processMetrics: false });
    const url = await serve(metrics, servers);
    const output = await mkdtemp(join(tmpdir(), 'metrics-out-'));
    try {
      const image = async (name: string) => ({
        uri: pathToFileURL(fixturePath(name)).href,
        size: await stat(fixturePath(name)).then(
          (info) => info.size,
          () => 1000,
        ),
        etag: '',
      });
      const job: ShardJob = {
        v: JOB_PAYLOAD_VERSION,
        run: 'metrics-run',
        shard: 0,
        output: pathToFileURL(output).href,
        model: 'default',
        inputRoots: [pathToFileURL(FIXTURES_DIR).href],
        images: await Promise.all(['chelsea.png', 'palette_color.png', 'truncated.jpg', 'vanished.png'].map(image)),
        normalize: false,
      };
      const outcome = await processShard(job, {
        engine,
        labels,
        modelId: 'm',
        storeFor: (uri) => openStore(uri),
        batchSize: 2,
        carriedColumns: [],
        fetchTimeoutMs: 60_000,
        maxImageBytes: 1 << 26,
        metrics,
      });
      assert.deepEqual([outcome.ok, outcome.error], [2, 2]);

      const text = await scrape(url);
      assert.equal(sample(text, 'resnet_batch_images_total', { status: 'ok' }), 2);
      assert.equal(sample(text, 'resnet_batch_images_total', { status: 'error' }), 2);
      assert.equal(sample(text, 'resnet_batch_image_errors_total', { code: 'DECODE_FAILED' }), 1);
      assert.equal(sample(text, 'resnet_batch_image_errors_total', { code: 'NOT_FOUND' }), 1);
      // Two decodable images in batches of two: the first batch holds both, the second none, so one engine call.
      assert.equal(sample(text, 'resnet_batch_batch_duration_seconds_count'), 1);
      assert.equal(sample(text, 'resnet_batch_batch_images_total'), 2);
      const inferSeconds = sample(text, 'resnet_batch_stage_seconds_total', { stage: 'infer' }) ?? 0;
      assert.ok(Math.abs(inferSeconds - (sample(text, 'resnet_batch_batch_duration_seconds_sum') ?? -1)) < 1e-6);
      for (const stage of ['fetch_decode', 'infer', 'write']) {
        assert.ok(
          (sample(text, 'resnet_batch_stage_seconds_total', { stage }) ?? 0) > 0,
          `${stage} seconds should be positive`,
        );
      }
    } finally {
      await rm(output, { recursive: true, force: true });
    }
  });

  test('the engine appears as engine_info with value 1, and only the latest one', async () => {
    const metrics = createWorkerMetrics({ processMetrics: false });
    const url = await serve(metrics, servers);
    metrics.setEngine('tfjs-node');
    metrics.setEngine(engine.name);
    const text = await scrape(url);
    assert.equal(sample(text, 'resnet_batch_engine_info', { engine: engine.name }), 1);
    assert.equal(sample(text, 'resnet_batch_engine_info', { engine: 'tfjs-node' }), undefined);
  });

  test('shard attempts are counted by status and error code', async () => {
    const metrics = createWorkerMetrics({ processMetrics: false });
    const url = await serve(metrics, servers);
    metrics.recordShard('ok');
    metrics.recordShard('error', 'STORAGE');
    metrics.recordShard('error', 'STORAGE');
    const text = await scrape(url);
    assert.equal(sample(text, 'resnet_batch_shards_total', { status: 'ok', code: '' }), 1);
    assert.equal(sample(text, 'resnet_batch_shards_total', { status: 'error', code: 'STORAGE' }), 2);
  });

  test('queue depth is read from Redis at scrape time: waiting, active and failed shards', async () => {
    const prefix = uniqueName('metrics');
    const queue = new Queue('shards', { connection: { url: redis.url }, prefix });
    queues.push(queue);
    const metrics = createWorkerMetrics({ queue, processMetrics: false });
    const url = await serve(metrics, servers);

    await queue.add('shard', { n: 0 }, { attempts: 1 });
    const failing = new Worker(
      'shards',
      async () => {
        throw new UnrecoverableError('poison shard');
      },
      { connection: { url: redis.url, maxRetriesPerRequest: null }, prefix },
    );
    await new Promise((resolve) => failing.once('failed', resolve));
    await failing.close();
    await queue.addBulk([1, 2, 3].map((n) => ({ name: 'shard', data: { n } })));

    const text = await scrape(url);
    assert.equal(sample(text, 'resnet_batch_queue_jobs', { state: 'waiting' }), 3);
    assert.equal(sample(text, 'resnet_batch_queue_jobs', { state: 'active' }), 0);
    assert.equal(sample(text, 'resnet_batch_queue_jobs', { state: 'failed' }), 1);
    assert.equal(sample(text, 'resnet_batch_queue_reachable'), 1);

    await queue.add('shard', { n: 4 });
    assert.equal(sample(await scrape(url), 'resnet_batch_queue_jobs', { state: 'waiting' }), 4);
  });

  test('a scrape answers within the queue timeout when Redis is unreachable, reporting queue_reachable 0 and no depth', async () => {
    const deadPort = await freePort();
    const queue = new Queue('shards', {
      connection: { host: '127.0.0.1', port: deadPort, maxRetriesPerRequest: 1, retryStrategy: () => 1000 },
      prefix: uniqueName('dead'),
    });
    queue.on('error', () => undefined);
    queues.push(queue);
    const metrics = createWorkerMetrics({ queue, queueTimeoutMs: 300, processMetrics: false });
    const url = await serve(metrics, servers);

    const started = performance.now();
    const text = await scrape(url);
    assert.ok(performance.now() - started < 3000, `scrape took ${Math.round(performance.now() - started)} ms`);
    assert.equal(sample(text, 'resnet_batch_queue_reachable'), 0);
    assert.doesNotMatch(text, /^resnet_batch_queue_jobs\{/m);
  });

  test('default process metrics are included unless turned off', async () => {
    const text = await scrape(await serve(createWorkerMetrics(), servers));
    assert.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 0);
    assert.ok(sample(text, 'nodejs_eventloop_lag_seconds') !== undefined);
  });

  test('paths other than /metrics answer 404', async () => {
    const url = await serve(createWorkerMetrics({ processMetrics: false }), servers);
    const response = await fetch(url.replace('/metrics', '/'));
    assert.equal(response.status, 404);
    await response.text();
  });
});
