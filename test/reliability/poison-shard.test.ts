import assert from 'node:assert/strict';
import { copyFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { RunManifest } from '../../shared/output/output-format.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { type CliResult, runCli, startOnnxWorker, stopWorkers, submit } from '../harness/cli.ts';
import { PHOTOS, stagePhotoCopies } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { assertNpyMatchesOkRows, assertOneRowPerInput, type RunOutput, readRunOutput } from '../harness/run-output.ts';
import { waitForRunDone } from '../harness/run-state.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { reliabilityEnv, type StatusJson, statusJson } from './reliability-harness.ts';

/**
 * A poison shard: shard 2 holds an input (zz-poison.png, last of the listing) whose read SIGKILLs
 * the worker every time. The kill comes from test/reliability/crash-on-uri.ts, preloaded into
 * the worker process only, so no worker code has a test path. A supervisor restarts the worker
 * after each death, as an orchestrator would. With MAX_STALLED 1 the second loss fails the shard
 * for good; the run then finishes with it recorded as failed. `retry` against workers without the
 * crash trigger completes it and rewrites the manifest.
 */

const SHARD_SIZE = 30;
const GOOD = 89;
const crashHook = fileURLToPath(new URL('./crash-on-uri.ts', import.meta.url));
const redis = useRedis();
const dir = useTempDir('reliability-poison-');
let names: string[];
let run: string;
let workers: ServerProcess[] = [];
let deaths: Array<number | string>;
let failedStatus: StatusJson;
let failedWait: CliResult;
let failedReport: CliResult;
let failedReportHtml: string;
let failedManifest: RunManifest;
let retryResult: CliResult;
let retried: RunOutput;

/** Restarts the crash-hooked worker whenever it dies, until the run is done; returns the deaths. */
async function superviseUntilDone(env: Record<string, string>, prefix: string): Promise<Array<number | string>> {
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const registry = new RunRegistry(connection, prefix);
  const exits: Array<number | string> = [];
  const deadline = Date.now() + 150_000;
  try {
    workers = [await startOnnxWorker(env, { preload: [crashHook] })];
    while ((await registry.get(run))?.state !== 'done') {
      if (Date.now() > deadline) throw new Error(`run not done; worker deaths so far: ${exits.join(', ')}`);
      const current = workers[0]!;
      if (current.child.exitCode !== null || current.child.signalCode !== null) {
        exits.push(await current.exited);
        workers = [await startOnnxWorker(env, { preload: [crashHook] })];
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return exits;
  } finally {
    connection.disconnect();
  }
}

setUp(async () => {
  const input = join(dir.path, 'input');
  await stagePhotoCopies(input, GOOD);
  await copyFile(
    fileURLToPath(new URL(`../fixtures/images/${PHOTOS[0]}`, import.meta.url)),
    join(input, 'zz-poison.png'),
  );
  names = (await readdir(input)).sort();
  const prefix = uniqueName('poison');
  const env = reliabilityEnv(redis.url, prefix, { MAX_STALLED: '1' });
  const out = join(dir.path, 'out');
  ({ run } = await submit(input, out, { shardSize: SHARD_SIZE }, env));

  deaths = await superviseUntilDone({ ...env, RESNET_BATCH_TEST_CRASH_ON_URI_SUBSTRING: 'zz-poison' }, prefix);
  failedStatus = await statusJson(run, env);
  failedWait = await runCli(['status', run, '--wait'], env);
  const reportFile = join(dir.path, 'failed-report.html');
  failedReport = await runCli(['report', run, '--out', reportFile], env);
  failedReportHtml = failedReport.code === 0 ? await readFile(reportFile, 'utf8') : '';
  failedManifest = (await readRunOutput(openStore(out), out, run)).manifest;
  await stopWorkers(workers);

  workers = [await startOnnxWorker(env)];
  retryResult = await runCli(['retry', run], env);
  await waitForRunDone(redis.url, prefix, run, 120_000);
  retried = await readRunOutput(openStore(out), out, run);
  await stopWorkers(workers);
  workers = [];
});

teardown(async () => {
  if (workers.length > 0) await stopWorkers(workers);
});

describe('a shard that kills its worker every time', () => {
  test('killed the worker exactly MAX_STALLED + 1 times before it was failed', () => {
    assert.deepEqual(deaths, ['SIGKILL', 'SIGKILL']);
  });

  test('is shown as failed by status --json, and the rest of the run is done', () => {
    assert.equal(failedStatus.state, 'done');
    assert.deepEqual(failedStatus.shards, { total: 3, done: 2, failed: 1, failed_shards: [2] });
    assert.deepEqual(failedStatus.images, {
      total: GOOD + 1,
      ok: 2 * SHARD_SIZE,
      error: 0,
      skipped: 0,
      unchanged: 0,
      processed: 2 * SHARD_SIZE,
    });
  });

  test('makes status --wait exit 2', () => {
    assert.equal(failedWait.code, 2, failedWait.stderr);
  });

  test('makes the report red, with the failed shard, its reason and its 30 files listed', () => {
    assert.equal(failedReport.code, 0, failedReport.stderr);
    assert.match(failedReportHtml, /<span class="badge failed">done, 1 shard\(s\) failed<\/span>/);
    assert.match(
      failedReportHtml,
      /<table id="failed-shards">.*<tr><td class="num">2<\/td><td class="num">30<\/td><td><code>[^<]*stalled[^<]*<\/code><\/td><\/tr>/s,
    );
    assert.match(failedReportHtml, /Failed files <span class="muted">\(all 30;/);
    const listed = [
      ...failedReportHtml.matchAll(
        /<tr><td><code>file:\/\/[^<]*\/([^/<]+)<\/code><\/td><td><code>shard 2 failed, no row: /g,
      ),
    ];
    assert.deepEqual(
      listed.map((match) => match[1]),
      names.slice(2 * SHARD_SIZE),
    );
    assert.doesNotMatch(failedReportHtml, /No image failed\./);
  });

  test('is listed in the manifest as failed_shards', () => {
    assert.deepEqual(failedManifest.shards, { total: 3, done: 2, failed: 1, failed_shards: [2] });
  });
});

describe('resnet-batch retry on that run, with workers that do not crash', () => {
  test('enqueues the failed shard again and exits 0', () => {
    assert.equal(retryResult.code, 0, retryResult.stderr);
    assert.match(retryResult.stderr, /1 failed shard\(s\) enqueued again/);
  });

  test('completes the run and rewrites the manifest with no failed shard', () => {
    assert.deepEqual(retried.manifest.shards, { total: 3, done: 3, failed: 0 });
    assert.deepEqual(retried.manifest.images, { total: GOOD + 1, ok: GOOD + 1, error: 0, skipped: 0 });
  });

  test('every input, the poison one included, has exactly one metadata row and the .npy rows match', () => {
    assertOneRowPerInput(retried, names);
    assertNpyMatchesOkRows(retried);
  });
});
