import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Job } from 'bullmq';
import { JOB_PAYLOAD_VERSION, shardJobId } from '../../shared/queue/job-payload.ts';
import type { RunRecord } from '../../shared/run/run-record.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { cliEnv, startOnnxWorker, submit } from '../harness/cli.ts';
import { copyFixtures } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { type RunOutput, readRunOutput } from '../harness/run-output.ts';
import { shardQueue, waitForRunDone } from '../harness/run-state.ts';
import { s3Env, useS3 } from '../harness/s3-server.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { type FaultProxy, startFaultProxy } from './fault-proxy.ts';

/**
 * Jobs added straight to the run's queue by someone with access to Redis, beside a legit run:
 * an unknown field, URIs outside the run's input roots (a local file, another bucket, a cloud
 * metadata endpoint), a run id that climbs out of the output, a job id that does not match its
 * shard, another output. Each must fail at once (unrecoverable, no attempts burned) without
 * reading its inputs or writing anywhere, and the legit run must complete untouched.
 */

const IMAGES = ['chelsea.png', 'rocket.jpg', 'horse.png'];

const redis = useRedis();
const s3 = useS3();
let proxy: FaultProxy;
const dir = useTempDir('hostile-');
let worker: ServerProcess | undefined;
let run: string;
let record: RunRecord;
let output: RunOutput;
const hostile = new Map<string, Job>();

setUp(async () => {
  // The worker reaches S3 only through this (pass-through) proxy, which logs every request.
  proxy = await startFaultProxy(s3.endpoint);
  await s3.createBucket('other-bucket');
  await copyFixtures(join(dir.path, 'input'), IMAGES);
  const prefix = uniqueName('hostile');
  const env = cliEnv(redis.url, prefix, { LOG_LEVEL: 'info', JOB_ATTEMPTS: '5', ...s3Env(s3), S3_ENDPOINT: proxy.url });
  ({ run } = await submit(join(dir.path, 'input'), join(dir.path, 'out'), { shardSize: 2 }, env));

  const { queue, close } = shardQueue(redis.url, prefix);
  try {
    const legit = (await queue.getJob(shardJobId(run, 0)))!.data as Record<string, unknown>;
    const image = (uri: string) => [{ uri, size: 10, etag: '' }];
    const forged: Record<string, [string, Record<string, unknown>]> = {
      'unknown field': [shardJobId(run, 10), { ...legit, shard: 10, priority: 'high' }],
      'file:///etc/passwd': [shardJobId(run, 11), { ...legit, shard: 11, images: image('file:///etc/passwd') }],
      'another bucket': [shardJobId(run, 12), { ...legit, shard: 12, images: image('s3://other-bucket/secret.jpg') }],
      'metadata endpoint': [
        shardJobId(run, 13),
        { ...legit, shard: 13, images: image('http://169.254.169.254/latest/meta-data/iam/security-credentials/') },
      ],
      "run id '../x'": ['x__000000', { ...legit, run: '../x', shard: 0 }],
      'job id of another shard': [shardJobId(run, 14), { ...legit, shard: 0 }],
      'another output': [
        shardJobId(run, 15),
        { ...legit, shard: 15, output: pathToFileURL(join(dir.path, 'elsewhere')).href },
      ],
    };
    for (const [what, [jobId, data]] of Object.entries(forged)) {
      await queue.add(
        'shard',
        { ...data, v: JOB_PAYLOAD_VERSION },
        { jobId, attempts: 5, backoff: { type: 'fixed', delay: 100 } },
      );
      hostile.set(what, (await queue.getJob(jobId))!);
    }
  } finally {
    await close();
  }

  worker = await startOnnxWorker(env);
  record = await waitForRunDone(redis.url, prefix, run, 120_000);
  output = await readRunOutput(openStore(join(dir.path, 'out')), join(dir.path, 'out'), run);
  // Reload the forged jobs as they ended.
  const reopened = shardQueue(redis.url, prefix);
  try {
    for (const [what, job] of hostile) hostile.set(what, (await reopened.queue.getJob(job.id!))!);
  } finally {
    await reopened.close();
  }
});

teardown(async () => {
  await worker?.stop('SIGTERM', 30_000);
  await proxy?.close();
});

const REASONS: Readonly<Record<string, RegExp>> = {
  'unknown field': /^INVALID_JOB: .*Unrecognized key.*priority/,
  'file:///etc/passwd': /^INVALID_JOB: .*names file:\/\/\/etc\/passwd, outside the run's input roots/,
  'another bucket': /^INVALID_JOB: .*names s3:\/\/other-bucket\/secret\.jpg, outside the run's input roots/,
  'metadata endpoint': /^INVALID_JOB: .*names http:\/\/169\.254\.169\.254\/\S+, outside the run's input roots/,
  "run id '../x'": /^INVALID_JOB: .*run: Invalid string/,
  'job id of another shard': /^INVALID_JOB: job id \S+__000014 does not match run \S+ shard 0/,
  'another output': /^INVALID_JOB: .*writes to \S+elsewhere, but the run's output is/,
};

describe('hostile jobs beside a legit run', () => {
  for (const [what, reason] of Object.entries(REASONS)) {
    test(`a job with ${what} fails at once with its reason, no attempt retried`, () => {
      const job = hostile.get(what)!;
      assert.equal(job.finishedOn !== undefined && job.failedReason !== undefined, true, `${what}: not failed`);
      assert.match(job.failedReason, reason);
      assert.equal(job.attemptsMade, 1);
    });
  }

  test('nothing of another bucket was requested from S3', () => {
    assert.deepEqual(
      proxy.log().filter((entry) => entry.path.includes('other-bucket')),
      [],
    );
  });

  test('nothing was written outside <output>/<run>/', async () => {
    assert.deepEqual(await readdir(dir.path), ['input', 'out']);
    assert.deepEqual(await readdir(join(dir.path, 'out')), [run]);
  });

  test('the legit run completes with its own shards only, every image once', () => {
    assert.deepEqual(output.manifest.shards, { total: 2, done: 2, failed: 0 });
    assert.deepEqual(
      output.parts
        .flatMap((part) => part.rows)
        .map((row) => `${row.uri.slice(row.uri.lastIndexOf('/') + 1)} ${row.status}`)
        .sort(),
      IMAGES.map((name) => `${name} ok`).sort(),
    );
    assert.equal(record.state, 'done');
  });
});
