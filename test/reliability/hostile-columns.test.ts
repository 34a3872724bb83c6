import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { parseShardJob } from '../../shared/queue/job-payload.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { cliEnv, runCli, startWorkers, stopWorkers, submit } from '../harness/cli.ts';
import { useRedis } from '../harness/redis-server.ts';
import { readRunOutput } from '../harness/run-output.ts';
import { waitForRunDone } from '../harness/run-state.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * Issue 19: list columns nobody planned for. Names that cannot be carried are refused at submit
 * naming the column (never accepted and then refused by every worker, which left the run queued
 * for ever); names of JavaScript object members are carried as any other name, and a row without
 * one reads null, never the member's function.
 */

const chelsea = new URL('../fixtures/images/chelsea.png', import.meta.url).href;
const coffee = new URL('../fixtures/images/coffee.png', import.meta.url).href;

const redis = useRedis();
let workers: ServerProcess[] = [];
let env: Record<string, string>;
const dir = useTempDir('hostile-columns-');

setUp(async () => {
  env = cliEnv(redis.url, uniqueName('cols'));
  workers = await startWorkers(1, env);
});

teardown(() => stopWorkers(workers));

async function submitList(name: string, text: string) {
  const path = join(dir.path, name);
  await writeFile(path, text);
  return runCli(['submit', path, '--output', join(dir.path, 'out')], env);
}

test('a CSV written by pandas with its unnamed index column is refused at submit, saying index=False', async () => {
  const result = await submitList('pandas.csv', `,url,caption\n0,${chelsea},a cat\n1,${coffee},a cup\n`);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /empty name.*index=False/);
});

test('columns that repeat, ignoring case or not, are refused at submit naming both', async () => {
  for (const header of ['url,caption,caption', 'url,Caption,caption']) {
    const result = await submitList('repeated.csv', `${header}\n${chelsea},a,b\n`);
    assert.notEqual(result.code, 0, header);
    assert.match(result.stderr, /columns '[Cc]aption' and 'caption'/);
  }
});

test("a case variant of an output column ('URI', 'Top_Labels') is refused at submit naming it", async () => {
  const result = await submitList('variant.csv', `url,Top_Labels\n${chelsea},x\n`);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /column 'Top_Labels' has the name of one of the output's own columns/);
  const jsonl = await submitList('variant.jsonl', `${JSON.stringify({ uri: chelsea, URI: 'x' })}\n`);
  assert.notEqual(jsonl.code, 0);
  assert.match(jsonl.stderr, /field 'URI' has the name of one of the output's own columns/);
});

test("a '__proto__' field or a name longer than 128 characters is refused at submit naming it", async () => {
  const proto = await submitList('proto.jsonl', `{"uri": ${JSON.stringify(chelsea)}, "__proto__": {"a": 1}}\n`);
  assert.notEqual(proto.code, 0);
  assert.match(proto.stderr, /'__proto__'/);
  const long = await submitList('long.csv', `url,${'x'.repeat(200)}\n${chelsea},1\n`);
  assert.notEqual(long.code, 0);
  assert.match(long.stderr, /longer than 128 characters/);
});

test('columns named like Object members are carried as values, and a missing one reads null, not a function', async () => {
  const lines: Record<string, string>[] = [
    { uri: chelsea, constructor: 'built', toString: 'text' },
    { uri: coffee, hasOwnProperty: 'yes' },
  ];
  const path = join(dir.path, 'members.jsonl');
  await writeFile(path, lines.map((line) => JSON.stringify(line)).join('\n'));
  const output = join(dir.path, 'out-members');
  const { run } = await submit(path, output, {}, env);
  const record = await waitForRunDone(redis.url, env.QUEUE_PREFIX!, run);
  assert.equal(record.images.ok, 2);
  const store = openStore(pathToFileURL(output).href);
  const rows = (await readRunOutput(store, pathToFileURL(`${output}/`).href, run)).parts.flatMap((part) => part.rows);
  const cat = rows.find((row) => row.uri === chelsea)!;
  const cup = rows.find((row) => row.uri === coffee)!;
  assert.deepEqual([cat.constructor, cat.toString, cat.hasOwnProperty], ['built', 'text', null]);
  assert.deepEqual([cup.constructor, cup.toString, cup.hasOwnProperty], [null, null, 'yes']);
  await store.close();
});

test('the workers refuse the same names submit refuses (one rule)', () => {
  const job = (fields: Record<string, unknown>) => ({
    v: 2,
    run: 'r',
    shard: 0,
    output: 'file:///tmp/o/',
    model: 'm',
    inputRoots: ['file:///tmp/'],
    images: [{ uri: 'file:///tmp/a.png', size: 1, etag: '', fields }],
    normalize: false,
  });
  assert.doesNotThrow(() => parseShardJob(job({ constructor: 'x', caption: 'y' })));
  for (const fields of [{ '': 1 }, { URI: 'x' }, { Caption: 1, caption: 2 }, { ['y'.repeat(129)]: 1 }])
    assert.throws(() => parseShardJob(job(fields)), /INVALID_JOB|invalid/);
});
