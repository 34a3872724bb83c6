// submit checks --model before it enqueues anything, and records the weights digest it found; a
// worker whose weights differ from the recorded ones refuses the run's shards. The real CLI, a
// real Redis, the real model; the "files changed after submit" case is set up by writing another
// digest into the run record, as a submit that had read other files would have left it.
import assert from 'node:assert/strict';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { ARTIFACT_WEIGHTS_SHA256 } from '../../model/artifact.ts';
import { SHARD_QUEUE_NAME } from '../../shared/config.ts';
import { shardJobId } from '../../shared/queue/job-payload.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { runCli, startOnnxWorker, submit } from '../harness/cli.ts';
import { stagePhotoCopies } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { waitForRunDone } from '../harness/run-state.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

const OTHER_WEIGHTS = 'ab'.repeat(32);

describe('submit --model', () => {
  const redis = useRedis();
  const dir = useTempDir('resnet-batch-submit-model-');
  let input: string;

  before(async () => {
    input = join(dir.path, 'input');
    await stagePhotoCopies(input, 3);
  });

  const env = (prefix: string) => ({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' });

  test('a model folder that does not exist is refused at submit, and nothing is written', async () => {
    const prefix = uniqueName('model');
    const output = join(dir.path, 'out-missing');
    await mkdir(output);
    const missing = join(dir.path, 'no-such-model');
    const result = await runCli(['submit', input, '--output', output, '--model', missing], env(prefix));
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /CONFIG: --model \S*no-such-model cannot be used: model file \S+model\.json is not found/,
    );
    assert.equal(result.stdout, '', 'no run id');
    assert.deepEqual(JSON.parse((await runCli(['runs', '--json'], env(prefix))).stdout), []);
    assert.deepEqual(await readdir(output), [], 'no _run.json, no probe left');
  });

  test('the default model is recorded with its weights digest, shown by submit and status', async () => {
    const prefix = uniqueName('model');
    const { run, stderr } = await submit(input, join(dir.path, 'out-default'), {}, env(prefix));
    assert.match(stderr, /\(model default, weights sha256 618cc24c4031…\)/);
    const status = JSON.parse((await runCli(['status', run, '--json'], env(prefix))).stdout) as {
      model_sha256: string;
    };
    assert.equal(status.model_sha256, ARTIFACT_WEIGHTS_SHA256);
  });

  describe('after the weights under the run’s model changed', () => {
    const prefix = uniqueName('model');
    let run: string;
    let worker: ServerProcess | undefined;
    let resubmitted: Awaited<ReturnType<typeof runCli>>;
    let failedReason: string | undefined;

    before(async () => {
      const workerEnv = { ...env(prefix), JOB_ATTEMPTS: '1', METRICS_PORT: '0' };
      ({ run } = await submit(input, join(dir.path, 'out-changed'), { run: 'changed-weights' }, workerEnv));
      await redis.client.hset(`${prefix}:run:${run}`, 'model_sha256', OTHER_WEIGHTS);
      resubmitted = await runCli(['submit', input, '--output', join(dir.path, 'out-changed'), '--run', run], workerEnv);
      worker = await startOnnxWorker(workerEnv);
      await waitForRunDone(redis.url, prefix, run, 120_000);
      const connection = redis.client.duplicate();
      const queue = new Queue(SHARD_QUEUE_NAME, { connection, prefix });
      try {
        failedReason = (await queue.getJob(shardJobId(run, 0)))?.failedReason;
      } finally {
        await queue.close();
        connection.disconnect();
      }
    });

    after(async () => {
      await worker?.stop();
    });

    test('a resubmission is refused, saying the files changed', () => {
      assert.equal(resubmitted.code, 1);
      assert.match(resubmitted.stderr, /the model files changed, so its rows would mix two models/);
    });

    test('a worker with the current files refuses the shard: MODEL_MISMATCH, and no row is written', async () => {
      assert.match(failedReason ?? '', /loaded 618cc24c4031… from there: the model files changed after submit/);
      const record = await new RunRegistry(redis.client, prefix).get(run);
      assert.deepEqual(record?.shards.failedShards, [0]);
      assert.equal(record?.images.ok, 0);
    });
  });
});
