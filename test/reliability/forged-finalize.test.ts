import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Job } from 'bullmq';
import type { RunManifest } from '../../shared/output/output-format.ts';
import { FINALIZE_JOB_NAME, finalizeJobId, JOB_PAYLOAD_VERSION } from '../../shared/queue/job-payload.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { startOnnxWorker, stopWorkers, submit } from '../harness/cli.ts';
import { stagePhotoCopies } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { shardQueue, waitFor, waitForRunDone } from '../harness/run-state.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { reliabilityEnv } from './reliability-harness.ts';

/**
 * A forged finalize job (anything that can add a job to the queue can add one) used to end a run
 * with 0 of its 6 shards processed. Two are added before any worker starts: one under the very id
 * the pipeline will give its finaliser, one under another id. Both must fail as INVALID_JOB and
 * change nothing; the run finishes only when every shard is done, with its real finaliser.
 */

const IMAGES = 12;
const redis = useRedis();
const dir = useTempDir('reliability-finalize-');
let workers: ServerProcess[] = [];
let forged: Job[] = [];
let forgedReasons: string[] = [];
let firstDoneAt: string | null;
let manifest: RunManifest;
let stateWhenForgedFailed: { done: number; finished: boolean };

setUp(async () => {
  await stagePhotoCopies(join(dir.path, 'input'), IMAGES);
  const prefix = uniqueName('forged');
  const env = reliabilityEnv(redis.url, prefix);
  const { run } = await submit(join(dir.path, 'input'), join(dir.path, 'out'), { shardSize: 2 }, env);
  const { queue, close } = shardQueue(redis.url, prefix);
  try {
    const data = { v: JOB_PAYLOAD_VERSION, run, generation: 0 };
    forged = [
      await queue.add(FINALIZE_JOB_NAME, data, { jobId: finalizeJobId(run, 0), attempts: 3 }),
      await queue.add(FINALIZE_JOB_NAME, data, { jobId: `${run}__forged`, attempts: 3 }),
    ];
    workers = [await startOnnxWorker(env)];
    await waitFor('both forged finalisers failed', async () => {
      const states = await Promise.all(forged.map(async (job) => (await queue.getJob(job.id ?? ''))?.getState()));
      return states.every((state) => state === 'failed');
    });
    forgedReasons = await Promise.all(
      forged.map(async (job) => (await queue.getJob(job.id ?? ''))?.failedReason ?? ''),
    );
    const { RunRegistry } = await import('../../shared/run/run-registry.ts');
    const { Redis } = await import('ioredis');
    const client = new Redis(redis.url);
    const record = await new RunRegistry(client, prefix).get(run);
    client.disconnect();
    stateWhenForgedFailed = { done: record?.shards.done ?? -1, finished: record?.finishedAt != null };
    const done = await waitForRunDone(redis.url, prefix, run, 150_000);
    firstDoneAt = done.finishedAt;
  } finally {
    await close();
  }
  manifest = JSON.parse(await readFile(join(dir.path, 'out', run, '_manifest.json'), 'utf8')) as RunManifest;
});

teardown(async () => {
  if (workers.length > 0) await stopWorkers(workers);
});

describe('forged finalize jobs added before a run is processed', () => {
  test('both fail as INVALID_JOB, saying they came before the shards were accounted for', () => {
    assert.equal(forgedReasons.length, 2);
    for (const reason of forgedReasons) {
      assert.match(
        reason,
        /^INVALID_JOB: finalize job .*(came before its shards were accounted for|is not the finaliser of run)/,
      );
    }
  });

  test('they did not end the run: it was unfinished when they failed', () => {
    assert.equal(stateWhenForgedFailed.finished, false, JSON.stringify(stateWhenForgedFailed));
  });

  test('the run finishes with every shard done, by its real finaliser', () => {
    assert.ok(firstDoneAt);
    assert.deepEqual(manifest.shards, { total: 6, done: 6, failed: 0 });
    assert.deepEqual(manifest.images, { total: IMAGES, ok: IMAGES, error: 0, skipped: 0 });
  });
});
