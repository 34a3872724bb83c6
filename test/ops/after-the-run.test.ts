// After `run` (its embedded Redis gone when it exits), `report`, `status` and `runs` work from the
// output alone (issue 19 item 1): the fixture images through `run` into a folder and into s3://
// on the tests' S3 server, then every command with REDIS_URL unset.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RunManifest } from '../../shared/output/output-format.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { storageConfigFromEnv } from '../../shared/storage/storage-config.ts';
import { type CliResult, runCli } from '../harness/cli.ts';
import { s3Env, startS3, type TestS3 } from '../harness/s3-server.ts';
import { uniqueName } from '../harness/unique-name.ts';

const fixtures = fileURLToPath(new URL('../fixtures/images', import.meta.url));

/** No Redis anywhere: REDIS_URL removed from the children's environment. */
const NO_REDIS = { REDIS_URL: undefined, LOG_LEVEL: 'warn', METRICS_PORT: '0' };

interface Target {
  name: string;
  /** The output root `run` writes under, and the env that reaches it. */
  setUp(): Promise<{ output: string; env: Record<string, string> }>;
  tearDown(): Promise<void>;
}

let dir: string;
let s3: TestS3 | undefined;

const targets: Target[] = [
  {
    name: 'a folder',
    setUp: async () => ({ output: join(dir, 'out'), env: {} }),
    tearDown: async () => {},
  },
  {
    name: 's3://',
    setUp: async () => {
      s3 = await startS3();
      const bucket = uniqueName('bkt');
      await s3.createBucket(bucket);
      return { output: `s3://${bucket}/out`, env: s3Env(s3) };
    },
    tearDown: async () => {
      await s3?.stop();
    },
  },
];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'resnet-batch-after-run-'));
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function assertExit(result: CliResult, code: number, what: string): void {
  assert.equal(result.code, code, `${what} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
}

for (const target of targets) {
  describe(`after run, on ${target.name}, with no Redis`, { timeout: 420_000 }, () => {
    let output: string;
    let env: Record<string, string | undefined>;
    let run: string;
    let location: string;
    let ran: CliResult;
    let manifest: RunManifest;

    before(async () => {
      const setUp = await target.setUp();
      output = setUp.output;
      env = { ...NO_REDIS, ...setUp.env };
      run = uniqueName('run');
      location = `${output}/${run}`;
      ran = await runCli(
        ['run', fixtures, '--output', output, '--run', run, '--workers', '1', '--engine', 'onnx', '--shard-size', '3'],
        env,
        240_000,
      );
      // 2: the fixtures' two undecodable images are error rows (every input has a row all the same).
      assertExit(ran, 2, 'run');
      const store = openStore(output, storageConfigFromEnv({ ...process.env, ...setUp.env }));
      try {
        manifest = JSON.parse((await store.read(`${location}/_manifest.json`)).toString('utf8')) as RunManifest;
      } finally {
        await store.close();
      }
    });

    after(() => target.tearDown());

    test("run's closing lines name the commands that work from the output", () => {
      assert.match(ran.stderr, new RegExp(`resnet-batch report \\S*${run}\\n`));
      assert.match(ran.stderr, new RegExp(`resnet-batch status \\S*${run}\\n`));
      assert.match(ran.stderr, new RegExp(`resnet-batch verify \\S*${run}\\n`));
    });

    test('status <output>/<run> --json gives the counts of the manifest', async () => {
      const status = await runCli(['status', location, '--json'], env);
      assertExit(status, 0, 'status');
      const json = JSON.parse(status.stdout) as {
        run: string;
        state: string;
        images: { total: number; ok: number; error: number; skipped: number };
        shards: { total: number; done: number; failed: number };
        precision: string;
        started_at: string;
        finished_at: string;
        images_per_second: number;
      };
      assert.equal(json.run, run);
      assert.equal(json.state, 'done');
      assert.deepEqual(
        { total: json.images.total, ok: json.images.ok, error: json.images.error, skipped: json.images.skipped },
        manifest.images,
      );
      assert.deepEqual(
        { total: json.shards.total, done: json.shards.done, failed: json.shards.failed },
        { total: manifest.shards.total, done: manifest.shards.done, failed: manifest.shards.failed },
      );
      assert.equal(json.precision, manifest.precision);
      assert.equal(json.started_at, manifest.started_at);
      assert.equal(json.finished_at, manifest.finished_at);
      assert.ok(json.images_per_second > 0);
    });

    test('status <output>/<run> prints the run as done', async () => {
      const status = await runCli(['status', location], env);
      assertExit(status, 0, 'status');
      assert.match(status.stdout, new RegExp(`run\\s+${run} \\(done`));
      assert.match(status.stdout, new RegExp(`${manifest.images.ok} ok, ${manifest.images.error} error`));
    });

    test('report <output>/<run> writes the report, its errors path with its slash', async () => {
      const out = join(dir, `${uniqueName('report')}.html`);
      const report = await runCli(['report', location, '--out', out], env);
      assertExit(report, 0, 'report');
      assert.equal(report.stdout.trim(), out);
      const html = await readFile(out, 'utf8');
      assert.match(html, /Totals <span class="muted">\(from the manifest\)/);
      assert.match(html, new RegExp(`${run}/errors/</code>part-\\*\\.parquet`));
      assert.doesNotMatch(html, /errorspart-/);
    });

    test('runs --output <output> lists the run as done with its counts', async () => {
      const runs = await runCli(['runs', '--output', output, '--json'], env);
      assertExit(runs, 0, 'runs');
      const listed = (JSON.parse(runs.stdout) as Array<{ run: string; state: string; images: object }>).find(
        (entry) => entry.run === run,
      );
      assert.deepEqual(listed && { state: listed.state, images: listed.images }, {
        state: 'done',
        images: { total: manifest.images.total, ok: manifest.images.ok, error: manifest.images.error },
      });
      const table = await runCli(['runs', '--output', output], env);
      assertExit(table, 0, 'runs');
      assert.match(
        table.stdout,
        new RegExp(`^${run}\\s+done\\s+${manifest.images.ok}\\s+${manifest.images.error}`, 'm'),
      );
    });

    test('a location needs no Redis: an unreachable REDIS_URL is never tried', async () => {
      const status = await runCli(['status', location, '--json'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' });
      assertExit(status, 0, 'status');
      assert.equal((JSON.parse(status.stdout) as { state: string }).state, 'done');
    });
  });
}

describe('a location whose run has not finished', { timeout: 60_000 }, () => {
  test('status and report say so and point to status <run> on Redis; runs lists it as unfinished', async () => {
    const output = join(dir, 'unfinished');
    const run = uniqueName('run');
    const store = openStore(output);
    try {
      const definition = {
        format_version: 2,
        run,
        input: `file://${fixtures}`,
        output: `file://${output}`,
        model: 'resnet50',
        precision: 'fp32',
        shard_size: 3,
        normalize: false,
        since: null,
        input_roots: [`file://${fixtures}`],
        carried_columns: [],
        created_at: new Date().toISOString(),
      };
      await store.write(`${output}/${run}/_run.json`, JSON.stringify(definition));
    } finally {
      await store.close();
    }
    const status = await runCli(['status', `${output}/${run}`], NO_REDIS);
    assertExit(status, 1, 'status');
    assert.match(status.stderr, new RegExp(`run ${run} .* has not finished .*resnet-batch status ${run}`));
    const report = await runCli(['report', `${output}/${run}`], NO_REDIS);
    assertExit(report, 1, 'report');
    assert.match(report.stderr, /has not finished/);
    const runs = await runCli(['runs', '--output', output], NO_REDIS);
    assertExit(runs, 0, 'runs');
    assert.match(runs.stdout, new RegExp(`^${run}\\s+unfinished\\s+0\\s+0\\s+\\?`, 'm'));
  });
});
