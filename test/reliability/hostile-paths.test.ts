import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { openStore } from '../../shared/storage/open-store.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { cliEnv, startWorkers, stopWorkers, submit } from '../harness/cli.ts';
import { useRedis } from '../harness/redis-server.ts';
import { readRunOutput } from '../harness/run-output.ts';
import { waitForRunDone } from '../harness/run-state.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * Issue 19: a list entry whose path holds a byte no file name can hold (NUL, an escape that is not
 * UTF-8) is that entry's error row (or left out at submit as an invalid line); the other images
 * of its shard still get their rows, and the shard is not failed.
 */

const chelsea = new URL('../fixtures/images/chelsea.png', import.meta.url).href;

const redis = useRedis();
let workers: ServerProcess[] = [];
let env: Record<string, string>;
const dir = useTempDir('hostile-paths-');

setUp(async () => {
  env = cliEnv(redis.url, uniqueName('paths'));
  workers = await startWorkers(1, env);
});

teardown(() => stopWorkers(workers));

test('paths with a NUL byte or bytes that are not UTF-8 fail their own rows, not their shard', async () => {
  const folder = new URL('../fixtures/images/', import.meta.url).href;
  const hostile = [`${folder}a%00b.png`, `${folder}%FF%FE.png`, `${folder}c\u0000d.png`, `${folder}%C0%AF.png`];
  const path = join(dir.path, 'list.jsonl');
  await writeFile(path, [chelsea, ...hostile].map((uri) => JSON.stringify({ uri })).join('\n'));
  const output = join(dir.path, 'out');
  const { run } = await submit(path, output, { shardSize: 10 }, env);
  const record = await waitForRunDone(redis.url, env.QUEUE_PREFIX!, run);
  assert.deepEqual(record.shards.failedShards, []);
  assert.equal(record.images.ok, 1);
  const store = openStore(pathToFileURL(output).href);
  const rows = (await readRunOutput(store, output, run)).parts.flatMap((part) => part.rows);
  await store.close();
  assert.equal(rows.length, record.images.total);
  for (const row of rows.filter((row) => row.uri !== chelsea)) assert.match(row.error ?? '', /^NOT_FOUND: /, row.uri);
});
