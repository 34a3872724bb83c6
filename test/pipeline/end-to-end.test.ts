import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { freePort } from '../../shared/free-port.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { joinUri } from '../../shared/storage/uri.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { cliEnv, runCli, startWorkers, stopWorkers, submit } from '../harness/cli.ts';
import { useRedis } from '../harness/redis-server.ts';
import { type RunOutput, readRunOutput } from '../harness/run-output.ts';
import { shardQueue, waitForRunDone } from '../harness/run-state.ts';
import { s3Env, s3StorageConfig, useS3 } from '../harness/s3-server.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { CAT_CLASSES, EXPECTED_ERRORS, stageInputs, uploadInputs } from './pipeline-inputs.ts';

/**
 * The whole pipeline, as a user runs it: `submit` from an S3 prefix, a local folder and a
 * manifest, consumed by ONE pair of `worker` processes shared by every run (loading the model is
 * the expensive part), then the output read back with independent readers.
 *
 * Inputs: the 11 fixture images (two of which fail to decode: truncated.jpg, multipage_rgb.tif)
 * plus a zero-byte .jpg and a text file named .jpg.
 */

const SHARD_SIZE = 4;

const redis = useRedis();
const s3 = useS3();
const dir = useTempDir('pipeline-e2e-');
let bucket: string;
let prefix: string;
let env: Record<string, string>;
let workers: ServerProcess[] = [];
let inputNames: string[];
let s3Store: ObjectStore;
let localStore: ObjectStore;

setUp(async () => {
  bucket = uniqueName('bkt');
  await s3.createBucket(bucket);
  prefix = uniqueName('e2e');
  // Metrics on, on a free port (the default one may be taken by anything on the machine): one
  // worker serves /metrics, the other finds the port taken and goes without; both must still
  // exit 0 on SIGTERM.
  env = cliEnv(redis.url, prefix, { METRICS_PORT: String(await freePort()), ...s3Env(s3) });
  s3Store = openStore(`s3://${bucket}/`, s3StorageConfig(s3));
  localStore = openStore('/');
  const input = join(dir.path, 'input');
  inputNames = await stageInputs(input);
  await uploadInputs(s3Store, `s3://${bucket}/input/`, input, inputNames);
  // Manifests: relative paths in .jsonl (resolved against the manifest's folder), S3 URIs in .txt.
  await writeFile(
    join(dir.path, 'inputs.jsonl'),
    inputNames.map((name) => JSON.stringify({ uri: `input/${name}` })).join('\n'),
  );
  await writeFile(
    join(dir.path, 'inputs.txt'),
    `# the same images, in S3\n${inputNames.map((name) => joinUri(`s3://${bucket}/input/`, name)).join('\n')}\n`,
  );

  workers = await startWorkers(2, env);
});

teardown(async () => {
  if (workers.length > 0) await stopWorkers(workers);
  await Promise.all([s3Store?.close(), localStore?.close()]);
});

/** One run, submitted with the CLI and waited for; the output read back once for every test. */
interface Source {
  input: () => string;
  output: () => string;
  store: () => ObjectStore;
  uriOf: (name: string) => string;
}

function describeRun(
  title: string,
  source: Source,
  more?: (result: () => { run: string; output: RunOutput }) => void,
): void {
  describe(title, () => {
    let run: string;
    let output: RunOutput;
    before(async () => {
      ({ run } = await submit(source.input(), source.output(), { shardSize: SHARD_SIZE }, env));
      await waitForRunDone(redis.url, prefix, run);
      output = await readRunOutput(source.store(), source.output(), run);
    });

    test('every input has exactly one row, in metadata/ or errors/', () => {
      const uris = output.parts.flatMap((part) => part.rows.map((row) => row.uri)).sort();
      assert.deepEqual(uris, inputNames.map(source.uriOf).sort());
    });

    test("size_bytes is each file's size, also where the listing gave none (manifests)", async () => {
      const rows = output.parts.flatMap((part) => part.rows);
      for (const name of inputNames) {
        const row = rows.find((entry) => entry.uri === source.uriOf(name));
        assert.equal(Number(row?.size_bytes), (await stat(join(dir.path, 'input', name))).size, name);
      }
    });

    test('each part has one .npy row per metadata row, and its failures only in errors/', () => {
      for (const part of output.parts) {
        assert.deepEqual(part.npyShape, [part.metadata.length, 2048], `part ${part.shard}`);
        assert.equal(part.npyData.length, part.metadata.length * 2048);
        assert.ok(part.npyData.every(Number.isFinite), `part ${part.shard} holds non-finite values`);
        for (const row of part.errors) assert.match(row.error, /^[A-Z_]+: /);
      }
      assert.deepEqual(
        output.parts.map((part) => part.shard),
        [0, 1, 2, 3],
      );
    });

    test('chelsea gets a cat class as its top label', () => {
      const chelsea = output.parts.flatMap((part) => part.rows).find((row) => row.uri === source.uriOf('chelsea.png'));
      assert.equal(chelsea?.status, 'ok');
      assert.ok(
        CAT_CLASSES.includes(chelsea?.top_labels?.[0] ?? ''),
        `chelsea's top labels: ${chelsea?.top_labels?.join(', ')}`,
      );
      assert.deepEqual([chelsea?.width, chelsea?.height], [451, 300]);
    });

    test('error rows carry their reasons, and only the bad inputs are errors', () => {
      const rows = output.parts.flatMap((part) => part.rows);
      const errors = Object.fromEntries(
        rows.filter((row) => row.status === 'error').map((row) => [row.uri, row.error]),
      );
      assert.deepEqual(Object.keys(errors).sort(), Object.keys(EXPECTED_ERRORS).map(source.uriOf).sort());
      for (const [name, code] of Object.entries(EXPECTED_ERRORS)) {
        assert.match(errors[source.uriOf(name)] ?? '', new RegExp(`^${code}: .+`), name);
      }
      assert.match(errors[source.uriOf('truncated.jpg')] ?? '', /premature end of JPEG/);
      for (const row of rows.filter((entry) => entry.status === 'ok')) assert.equal(row.error, null);
    });

    test('the manifest counts match the metadata rows', () => {
      const rows = output.parts.flatMap((part) => part.rows);
      const ok = rows.filter((row) => row.status === 'ok').length;
      assert.equal(ok, inputNames.length - Object.keys(EXPECTED_ERRORS).length);
      assert.deepEqual(output.manifest.images, { total: rows.length, ok, error: rows.length - ok, skipped: 0 });
      assert.deepEqual(output.manifest.shards, { total: output.parts.length, done: output.parts.length, failed: 0 });
      assert.equal(output.manifest.run, run);
      assert.deepEqual(output.manifest.engines, ['tfjs-wasm']);
    });

    test('status --json says done with the manifest counts', async () => {
      const result = await runCli(['status', run, '--json'], env);
      assert.equal(result.code, 0, result.stderr);
      const status = JSON.parse(result.stdout) as {
        run: string;
        state: string;
        images: { total: number; ok: number; error: number; skipped: number; unchanged: number; processed: number };
        shards: { total: number; done: number; failed: number };
      };
      assert.equal(status.run, run);
      assert.equal(status.state, 'done');
      const { total, ok, error, skipped } = status.images;
      assert.deepEqual({ total, ok, error, skipped }, output.manifest.images);
      assert.equal(status.images.processed, ok + error, 'a finished run has processed every image it counts');
      assert.equal(status.images.unchanged, 0, 'a full run skips nothing as unchanged');
      assert.deepEqual(
        { total: status.shards.total, done: status.shards.done, failed: status.shards.failed },
        output.manifest.shards,
      );
    });

    more?.(() => ({ run, output }));
  });
}

describeRun(
  'a run from an S3 prefix with two workers',
  {
    input: () => `s3://${bucket}/input/`,
    output: () => `s3://${bucket}/results`,
    store: () => s3Store,
    uriOf: (name) => `s3://${bucket}/input/${name}`,
  },
  () => {
    test('both workers processed shards of it', () => {
      for (const [index, worker] of workers.entries())
        assert.match(worker.output(), /"msg":"shard done"/, `worker ${index} did no shard`);
    });
  },
);

describeRun(
  'a run from a local folder into a local folder',
  {
    input: () => join(dir.path, 'input'),
    output: () => join(dir.path, 'results'),
    store: () => localStore,
    uriOf: (name) => pathToFileURL(join(dir.path, 'input', name)).href,
  },
  (result) => {
    test('resubmitting the finished run enqueues nothing and changes no output', async () => {
      const { run, output } = result();
      const root = join(dir.path, 'results', run);
      const finalKeys = output.keys;
      const snapshot = async () =>
        Promise.all(
          finalKeys.map(async (key) => ({
            key,
            bytes: await readFile(join(root, key)),
            mtimeMs: (await stat(join(root, key))).mtimeMs,
          })),
        );
      const { queue, close } = shardQueue(redis.url, prefix);
      try {
        const countsBefore = await queue.getJobCounts();
        const filesBefore = await snapshot();
        const again = await submit(
          join(dir.path, 'input'),
          join(dir.path, 'results'),
          { run, shardSize: SHARD_SIZE },
          env,
        );
        assert.equal(again.run, run);
        assert.match(again.stderr, /resubmitted, nothing missing to enqueue/);
        assert.deepEqual(await queue.getJobCounts(), countsBefore);
        assert.deepEqual(await snapshot(), filesBefore);
      } finally {
        await close();
      }
    });
  },
);

describeRun('a run from a .jsonl manifest of local files', {
  input: () => join(dir.path, 'inputs.jsonl'),
  output: () => join(dir.path, 'results-from-manifest'),
  store: () => localStore,
  uriOf: (name) => pathToFileURL(join(dir.path, 'input', name)).href,
});

describeRun('a run from a .txt manifest of S3 objects', {
  input: () => join(dir.path, 'inputs.txt'),
  output: () => `s3://${bucket}/results-from-txt`,
  store: () => s3Store,
  uriOf: (name) => `s3://${bucket}/input/${name}`,
});

test('the workers, one with /metrics and one without, exit 0 on SIGTERM once the runs are done', async () => {
  const codes = await stopWorkers(workers);
  workers = [];
  assert.deepEqual(codes, [0, 0]);
});
