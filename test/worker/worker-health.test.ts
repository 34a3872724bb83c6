// /healthz and /readyz of a real `resnet-batch worker` process against a real redis-server
// (worker/worker-health.ts). Outcomes only: each test polls until the answer it expects, never
// asserting how long that took.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ARTIFACT_LAYOUT } from '../../model/artifact.ts';
import { artifactCacheDir } from '../../model/model-cache.ts';
import { freePort } from '../../shared/free-port.ts';
import { type ServerProcess, startServerProcess } from '../harness/child-process.ts';
import { type TestRedis, useRedis } from '../harness/redis-server.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

const cliEntry = fileURLToPath(new URL('../../bin/resnet-batch.js', import.meta.url));
const nullWorkerEntry = fileURLToPath(new URL('../harness/null-worker.ts', import.meta.url));

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

/** Asks `path` until it answers `status` (or the worker exits); returns that answer. */
async function until(worker: ServerProcess, port: number, path: string, status: number) {
  for (;;) {
    assert.equal(worker.child.exitCode, null, `the worker exited:\n${worker.output()}`);
    const answer = await get(port, path).catch(() => undefined);
    if (answer?.status === status) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts a worker process (`args` after node) and resolves once its health server listens. */
async function startWorker(redis: TestRedis, args: string[], env: Record<string, string> = {}) {
  const port = await freePort();
  const { server } = await startServerProcess(process.execPath, args, {
    env: {
      ...process.env,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: uniqueName('health'),
      METRICS_PORT: String(port),
      LOG_LEVEL: 'info',
      ...env,
    },
    ready: /metrics, \/healthz and \/readyz/,
    timeoutMs: 60_000,
  });
  return { worker: server, port };
}

describe('worker /healthz', () => {
  const redis = useRedis();

  test('answers 200 while Redis answers, and 503 once Redis is killed', async () => {
    const { worker, port } = await startWorker(redis, ['--import', 'tsx', nullWorkerEntry]);
    try {
      assert.match((await until(worker, port, '/healthz', 200)).body, /redis answers/);
      await redis.kill('SIGKILL');
      assert.match((await until(worker, port, '/healthz', 503)).body, /redis unreachable/);
      // The process itself is fine: only the health answer changed.
      assert.equal(worker.child.exitCode, null);
    } finally {
      await worker.stop('SIGKILL');
    }
  });
});

describe('worker /readyz', () => {
  const redis = useRedis();
  const modelDir = useTempDir('resnet-batch-gated-model-');
  // The model folder is the cached artifact, linked file by file, except its first weight shard: a
  // named pipe, so the worker's model load blocks until the test writes it (model.json may be read
  // more than once, a shard once). /readyz is asked while it blocks.
  test('answers 503 until the model is loaded and the engine has run a batch, then 200', async () => {
    const source = artifactCacheDir();
    const [gated, ...linked] = await shardFiles(source);
    assert.ok(gated, 'the artifact has weight shards');
    for (const relative of [ARTIFACT_LAYOUT.modelJson, ARTIFACT_LAYOUT.labels, ...linked]) {
      await mkdir(dirname(join(modelDir.path, relative)), { recursive: true });
      await symlink(join(source, relative), join(modelDir.path, relative));
    }
    assert.equal(spawnSync('mkfifo', [join(modelDir.path, gated)]).status, 0, 'mkfifo creates the gate');

    const { worker, port } = await startWorker(redis, [cliEntry, 'worker', '--engine', 'onnx', '--batch-size', '2'], {
      MODEL_URI: modelDir.path,
    });
    try {
      await until(worker, port, '/healthz', 200);
      const before = await get(port, '/readyz');
      assert.equal(before.status, 503);
      assert.match(before.body, /loading the model/);

      await writeFile(join(modelDir.path, gated), await readFile(join(source, gated))); // opens the gate
      assert.match((await until(worker, port, '/readyz', 200)).body, /engine warm/);
      assert.match(worker.output(), /"msg":"engine warmed up with one batch/);
    } finally {
      await worker.stop('SIGKILL');
    }
  });
});

/** The weight shard files of the cached artifact, relative to its root. */
async function shardFiles(root: string): Promise<string[]> {
  const folder = dirname(ARTIFACT_LAYOUT.modelJson);
  return (await readdir(join(root, folder)))
    .filter((name) => name !== 'model.json')
    .sort()
    .map((name) => `${folder}/${name}`);
}
