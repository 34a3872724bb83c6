import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { ServerProcess } from '../harness/child-process.ts';
import { cliEnv, runCli, startOnnxWorker, submit } from '../harness/cli.ts';
import { copyFixtures } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { waitForRunDone } from '../harness/run-state.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * Planted secrets: a Redis password and an AWS secret key, both distinctive canaries, in the
 * environment of submit, a worker and status, for a run that includes error rows, plus commands
 * given a wrong password. No byte of the run's output, no log line, no status output may hold
 * either canary.
 */

const REDIS_CANARY = 'canary-redis-7f3a9c';
const WRONG_CANARY = 'canary-wrong-b51e04';
const AWS_CANARY = 'SECRET-canary-aws-2d8e61';

const redis = useRedis({ password: REDIS_CANARY });
const dir = useTempDir('secrets-');
let worker: ServerProcess | undefined;
const texts: Array<{ where: string; text: string }> = [];

setUp(async () => {
  const input = join(dir.path, 'input');
  await copyFixtures(input, ['chelsea.png', 'rocket.jpg', 'truncated.jpg']);
  await writeFile(join(input, 'empty.jpg'), Buffer.alloc(0));
  const prefix = uniqueName('secrets');
  const env = cliEnv(redis.url, prefix, {
    LOG_LEVEL: 'debug',
    AWS_ACCESS_KEY_ID: 'AKIACANARY',
    AWS_SECRET_ACCESS_KEY: AWS_CANARY,
  });

  const submitted = await submit(input, join(dir.path, 'out'), { shardSize: 2 }, env);
  texts.push({ where: 'submit stdout+stderr', text: submitted.stderr + submitted.run });
  worker = await startOnnxWorker(env, { logLevel: 'debug' });
  await waitForRunDone(redis.url, prefix, submitted.run, 120_000);
  for (const args of [['status', submitted.run], ['status', submitted.run, '--json'], ['status']]) {
    const result = await runCli(args, env);
    texts.push({ where: `status ${args.join(' ')}`, text: result.stdout + result.stderr });
  }
  // Wrong passwords: the refusals must not echo the password that was tried.
  const wrong = { ...env, REDIS_URL: `redis://:${WRONG_CANARY}@127.0.0.1:${redis.port}` };
  for (const args of [
    ['status', submitted.run],
    ['submit', input, '--output', join(dir.path, 'out2')],
  ]) {
    const result = await runCli(args, wrong, 30_000);
    texts.push({
      where: `${args[0]} with a wrong password (exit ${result.code})`,
      text: result.stdout + result.stderr,
    });
  }
  await worker.stop('SIGTERM', 30_000);
  texts.push({ where: 'worker log', text: worker.output() });
  worker = undefined;
  for (const file of await readdir(join(dir.path, 'out'), { recursive: true })) {
    const bytes = await readFile(join(dir.path, 'out', file)).catch(() => undefined);
    if (bytes) texts.push({ where: `output ${file}`, text: bytes.toString('latin1') });
  }
});

teardown(async () => {
  await worker?.stop('SIGKILL');
});

describe('a run with a Redis password and AWS credentials planted', () => {
  test('the run wrote output files, logs and status output to search', () => {
    const wheres = texts.map((entry) => entry.where);
    assert.ok(
      wheres.some((where) => /_manifest\.json$/.test(where)),
      wheres.join(', '),
    );
    assert.ok(wheres.some((where) => /\.parquet$/.test(where)));
    assert.ok(wheres.some((where) => /\.npy$/.test(where)));
    assert.match(
      texts.find((entry) => entry.where.startsWith('status ') && entry.where.includes('wrong'))?.text ?? '',
      /redis|Redis|NOAUTH|WRONGPASS|auth/i,
    );
  });

  for (const canary of [REDIS_CANARY, WRONG_CANARY, AWS_CANARY]) {
    test(`no output byte, log line or status line contains ${canary}`, () => {
      const leaks = texts.filter((entry) => entry.text.includes(canary)).map((entry) => entry.where);
      assert.deepEqual(leaks, []);
    });
  }
});
