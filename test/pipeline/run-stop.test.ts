// `resnet-batch run` stopped half-way (issue 12): Ctrl-C (SIGINT to its process group), SIGTERM
// to the `run` process alone (what `timeout`, CI runners and supervisors send), SIGKILL to it
// alone, and a second Ctrl-C. Each case runs the real command with its own redis-server and two
// workers (one in the `run` process, one child), stops it while shards are in progress, and
// then finds, by pid and command line under /proc, that nothing it started outlives it.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { partName } from '../../shared/output/output-format.ts';
import { stagePhotoCopies } from '../harness/fixtures.ts';
import { descendantsOf, type ProcessInfo, survivorsAfter } from '../harness/process-tree.ts';
import { setUp } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

const cli = fileURLToPath(new URL('../../bin/resnet-batch.js', import.meta.url));
/** The window: 20 s after the stop, nothing may be left. */
const LEFT_AFTER_MS = 20_000;
const root = useTempDir('run-stop-');
let input: string;

setUp(async () => {
  input = join(root.path, 'input');
  // Enough 4-image shards that the run is still going when it is stopped.
  await stagePhotoCopies(input, 160);
});

interface StartedRun {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  output: string;
  /** The TMPDIR the run was given, to find any temporary folder it left. */
  temp: string;
  /** Everything the run had started when it was stopped. */
  started: ProcessInfo[];
  /** Shard indexes being processed when it was stopped. */
  active: number[];
}

/** Starts `run` (its own process group, like a command at a terminal) and waits until shards are in progress. */
async function startRun(name: string): Promise<StartedRun> {
  const dir = await mkdtemp(join(root.path, `${name}-`));
  const temp = join(dir, 'tmp');
  const output = join(dir, 'out');
  await mkdir(temp);
  const prefix = uniqueName('run-stop');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TMPDIR: temp,
    QUEUE_PREFIX: prefix,
    METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
  };
  delete env.REDIS_URL;
  const args = [cli, 'run', input, '--output', output, '--workers', '2', '--shard-size', '4', '--engine', 'onnx'];
  const child = spawn(process.execPath, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.resume();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const active = await waitForActiveShards(child, prefix, () => stderr);
  return { child, exit, stderr: () => stderr, output, temp, started: descendantsOf(child.pid!), active };
}

/** Polls the run's own Redis (found as its redis-server child) until a shard is active and the child worker runs. */
async function waitForActiveShards(child: ChildProcess, prefix: string, stderr: () => string): Promise<number[]> {
  const deadline = Date.now() + 180_000;
  let redis: Redis | undefined;
  try {
    while (Date.now() < deadline) {
      assert.equal(child.exitCode, null, `run exited before a shard started:\n${stderr()}`);
      const tree = descendantsOf(child.pid!);
      const port = tree.map((info) => /^redis-server 127\.0\.0\.1:(\d+)/.exec(info.command)?.[1]).find(Boolean);
      const childWorker = tree.some((info) => info.command.includes('resnet-batch.js worker'));
      if (port && childWorker) {
        redis ??= new Redis(Number(port), { lazyConnect: true, maxRetriesPerRequest: 1 });
        const ids = await redis.lrange(`${prefix}:shards:active`, 0, -1).catch(() => []);
        if (ids.length > 0) return ids.map((id) => Number(id.split('__').pop()));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no shard became active:\n${stderr()}`);
  } finally {
    redis?.disconnect();
  }
}

/** Asserts that nothing the run started is left, and kills what is (so a failure leaks nothing). */
async function assertNothingLeft(run: StartedRun): Promise<void> {
  const kinds = run.started.map((info) => info.command);
  assert.ok(
    kinds.some((command) => command.startsWith('redis-server')),
    `no redis-server among ${kinds.join(' | ')}`,
  );
  assert.ok(
    kinds.some((command) => command.includes('resnet-batch.js worker')),
    `no worker among ${kinds.join(' | ')}`,
  );
  const survivors = await survivorsAfter(run.started, LEFT_AFTER_MS);
  for (const survivor of survivors) process.kill(survivor.pid, 'SIGKILL');
  assert.deepEqual(
    survivors.map((info) => info.command),
    [],
    `still running ${LEFT_AFTER_MS / 1000} s after the stop`,
  );
  const leftInTemp = (await readdir(run.temp)).filter((name) => name.startsWith('resnet-batch'));
  assert.deepEqual(leftInTemp, [], 'temporary folders left behind');
}

/** The shards in progress at the stop have their commit marker (errors/part-N.parquet): they were finished. */
async function assertFinished(run: StartedRun, shards: number[]): Promise<void> {
  const runs = await readdir(run.output);
  assert.equal(runs.length, 1, `expected one run folder in ${run.output}`);
  for (const shard of shards)
    assert.ok(
      existsSync(join(run.output, runs[0]!, 'errors', `${partName(shard)}.parquet`)),
      `shard ${shard} was in progress at the stop and is not finished`,
    );
}

describe('resnet-batch run, stopped half-way', () => {
  test('Ctrl-C (SIGINT to its process group) finishes the shards in progress, exits 130 and leaves nothing behind', async () => {
    const run = await startRun('sigint');
    process.kill(-run.child.pid!, 'SIGINT');
    assert.deepEqual(await run.exit, { code: 130, signal: null }, run.stderr());
    await assertFinished(run, run.active);
    await assertNothingLeft(run);
    assert.match(run.stderr(), /stopped by SIGINT: run \S+ did not finish/);
  });

  test('SIGTERM to the run process alone finishes the shards in progress, exits 143 and leaves nothing behind', async () => {
    const run = await startRun('sigterm');
    run.child.kill('SIGTERM');
    assert.deepEqual(await run.exit, { code: 143, signal: null }, run.stderr());
    await assertFinished(run, run.active);
    await assertNothingLeft(run);
  });

  test('SIGKILL to the run process alone: its worker and its redis-server notice and exit, no temporary folder is left', async () => {
    const run = await startRun('sigkill');
    run.child.kill('SIGKILL');
    assert.deepEqual(await run.exit, { code: null, signal: 'SIGKILL' });
    await assertNothingLeft(run);
  });

  test('a second Ctrl-C gives the shards back at once, exits 130 and leaves nothing behind', async () => {
    const run = await startRun('twice');
    process.kill(-run.child.pid!, 'SIGINT');
    // The second signal after the first was seen: the stop message is on stderr.
    while (!run.stderr().includes('SIGINT: stopping') && run.child.exitCode === null)
      await new Promise((resolve) => setTimeout(resolve, 50));
    process.kill(-run.child.pid!, 'SIGINT');
    assert.deepEqual(await run.exit, { code: 130, signal: null }, run.stderr());
    assert.match(run.stderr(), /second signal \(SIGINT\): giving the current shards back/);
    await assertNothingLeft(run);
  });
});
