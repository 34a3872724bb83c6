import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../../shared/free-port.ts';
import { type ServerProcess, startServerProcess } from '../harness/child-process.ts';
import { runCli, startOnnxWorker, stopWorkers, submit } from '../harness/cli.ts';
import { copyFixtures } from '../harness/fixtures.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * rediss:// with a password: a redis-server that only listens on TLS (self-signed certificate made
 * here with openssl, trusted through NODE_EXTRA_CA_CERTS, the standard Node way, so no project
 * code is TLS-specific), and submit, a worker and status working through it.
 */

const PASSWORD = 'tls-test-password-5c1e';

interface StatusJson {
  state: string;
  images: { total: number; ok: number; error: number; skipped: number };
  shards: { done: number; failed: number };
}

const dir = useTempDir('redis-tls-');
let redis: ServerProcess;
let redisUrl: string;
let env: Record<string, string>;

setUp(async () => {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      join(dir.path, 'key.pem'),
      '-out',
      join(dir.path, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const port = await freePort();
  ({ server: redis } = await startServerProcess(
    'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      join(dir.path, 'cert.pem'),
      '--tls-key-file',
      join(dir.path, 'key.pem'),
      '--tls-ca-cert-file',
      join(dir.path, 'cert.pem'),
      '--tls-auth-clients',
      'no',
      '--requirepass',
      PASSWORD,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir.path,
    ],
    { ready: /Ready to accept connections/, timeoutMs: 15_000 },
  ));
  redisUrl = `rediss://:${PASSWORD}@127.0.0.1:${port}`;
  env = {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: uniqueName('tls'),
    NODE_EXTRA_CA_CERTS: join(dir.path, 'cert.pem'),
    METRICS_PORT: '0',
  };
});

teardown(() => redis?.stop());

test('plain redis:// to a TLS-only port is refused with one line naming REDIS_URL', async () => {
  const plain = await runCli(
    ['status', 'no-such-run'],
    { ...env, REDIS_URL: redisUrl.replace('rediss://', 'redis://') },
    30_000,
  );
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /REDIS_URL/);
  assert.doesNotMatch(plain.stderr, new RegExp(PASSWORD));
});

test('submit, a worker and status work over rediss:// with a password', async () => {
  const input = join(dir.path, 'input');
  await copyFixtures(input, ['chelsea.png', 'coffee.png', 'truncated.jpg']);
  const submitted = await submit(input, join(dir.path, 'out'), { shardSize: 2 }, env);
  const worker = await startOnnxWorker(env);
  try {
    // Polled through the CLI: this test process has no NODE_EXTRA_CA_CERTS (it is read at start).
    let status: StatusJson | undefined;
    const deadline = Date.now() + 120_000;
    while (status?.state !== 'done' && Date.now() < deadline) {
      const result = await runCli(['status', submitted.run, '--json'], env, 30_000);
      assert.equal(result.code, 0, result.stderr);
      status = JSON.parse(result.stdout) as StatusJson;
      if (status.state !== 'done') await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.equal(status?.state, 'done');
    assert.deepEqual(status?.images, { total: 3, ok: 2, error: 1, skipped: 0, unchanged: 0, processed: 3 });
    assert.deepEqual([status?.shards.done, status?.shards.failed], [2, 0]);
  } finally {
    assert.deepEqual(await stopWorkers([worker]), [0]);
  }
});
