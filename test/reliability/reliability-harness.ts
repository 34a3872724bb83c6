import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parquetReadObjects } from 'hyparquet';
import { parse as parseNpy } from 'npyjs';
import { type ServerProcess, startServerProcess } from '../harness/child-process.ts';
import { type RunOutput, runCli, shardQueue } from '../pipeline/pipeline-harness.ts';

/**
 * What the crash, restart and poison-shard tests share, on top of test/pipeline/pipeline-harness.ts:
 * onnx workers as real child processes (optionally with a preloaded test-support module), inputs
 * made of many copies of the fixture photos (so a shard lasts long enough to be hit mid-way), a
 * wait for a shard to be active with progress, a watcher of the output's invariant while the run
 * goes, and the row checks every scenario ends with.
 */

const cliEntry = fileURLToPath(new URL('../../bin/resnet-batch.js', import.meta.url));
const fixtures = fileURLToPath(new URL('../fixtures/images/', import.meta.url));

/** Fixture photos that decode with the real model (see test/fixtures/images/README.md). */
export const PHOTOS: readonly string[] = ['chelsea.png', 'coffee.png', 'rocket.jpg', 'horse.png', 'green_palette.png'];

/**
 * The environment of every process of a reliability run: short locks so a dead worker's shard is
 * back within seconds (lock 3 s, stalled check every 1.5 s), quick retries, no /metrics port.
 * `overrides` win.
 */
export function reliabilityEnv(
  redisUrl: string,
  prefix: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    METRICS_PORT: '0',
    SHARD_LOCK_MS: '3000',
    MAX_STALLED: '2',
    JOB_ATTEMPTS: '5',
    JOB_BACKOFF_MS: '200',
    ...overrides,
  };
}

/** Writes `count` copies of the fixture photos into `folder` as img-00000.<ext>...; returns the names, sorted. */
export async function stagePhotoCopies(folder: string, count: number, namePrefix = 'img'): Promise<string[]> {
  await mkdir(folder, { recursive: true });
  for (let index = 0; index < count; index += 1) {
    const photo = PHOTOS[index % PHOTOS.length]!;
    await copyFile(
      join(fixtures, photo),
      join(folder, `${namePrefix}-${String(index).padStart(5, '0')}${photo.slice(photo.lastIndexOf('.'))}`),
    );
  }
  return (await readdir(folder)).sort();
}

export interface WorkerOptions {
  /** Modules loaded into the worker process before the CLI (node --import), e.g. test/reliability/crash-on-uri.ts. */
  preload?: string[];
  /** Milliseconds to wait for "worker ready". Default 120000 (onnx loads in a few seconds; the machine is shared). */
  timeoutMs?: number;
}

/**
 * Starts one `resnet-batch worker --engine onnx --batch-size 4` child (info logs, so the tests can
 * read its lines) and resolves once it logged "worker ready".
 */
export async function startOnnxWorker(
  env: Record<string, string>,
  options: WorkerOptions = {},
): Promise<ServerProcess> {
  // tsx first, so a preloaded module may be TypeScript.
  const preload = options.preload?.length
    ? ['--import', 'tsx', ...options.preload.flatMap((module) => ['--import', module])]
    : [];
  const { server } = await startServerProcess(
    process.execPath,
    [...preload, cliEntry, 'worker', '--engine', 'onnx', '--batch-size', '4', '--metrics-port', '0'],
    {
      env: { ...process.env, ...env, LOG_LEVEL: 'info' },
      ready: /"msg":"worker ready"/,
      timeoutMs: options.timeoutMs ?? 120_000,
    },
  );
  return server;
}

/** Polls until the shard job `jobId` is active with progress > 0 (a worker is inside it). */
export async function waitForActiveShard(
  redisUrl: string,
  prefix: string,
  jobId: string,
  timeoutMs = 60_000,
): Promise<void> {
  const { queue, close } = shardQueue(redisUrl, prefix);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await queue.getJob(jobId);
      if (job && (await job.getState()) === 'active' && Number(job.progress) > 0) return;
      if (Date.now() > deadline) throw new Error(`shard ${jobId} not active with progress after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await close();
  }
}

/** Polls `check` every 100 ms until it returns true; fails after `timeoutMs` with `what`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return Date.now() - started;
}

/**
 * Watches a local run output folder while the run goes, checking on every poll that each visible
 * metadata part has its .npy beside it with exactly as many rows as the part has ok rows: a shard
 * is never visible as complete while half written. stop() returns the violations and poll count.
 */
export function watchOutputInvariant(
  runFolder: string,
  intervalMs = 100,
): { stop(): Promise<{ violations: string[]; polls: number; partsSeen: number }> } {
  const violations: string[] = [];
  const seen = new Set<string>();
  let polls = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      polls += 1;
      await checkParts(runFolder, violations, seen);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      // One last look after the run: the final part may land between the last poll and stop().
      polls += 1;
      await checkParts(runFolder, violations, seen);
      return { violations, polls, partsSeen: seen.size };
    },
  };
}

async function checkParts(runFolder: string, violations: string[], seen: Set<string>): Promise<void> {
  const names = await readdir(join(runFolder, 'metadata')).catch(() => [] as string[]);
  for (const name of names.filter((entry) => /^part-\d+\.parquet$/.test(entry))) {
    const part = name.replace(/\.parquet$/, '');
    seen.add(part);
    const npy = await readFile(join(runFolder, 'embeddings', `${part}.npy`)).catch(() => undefined);
    if (!npy) {
      violations.push(`${part}: metadata present, .npy missing`);
      continue;
    }
    const rows = await parquetReadObjects({ file: arrayBufferOf(await readFile(join(runFolder, 'metadata', name))) });
    const npyRows = parseNpy(arrayBufferOf(npy)).shape[0];
    if (npyRows !== rows.length) violations.push(`${part}: ${rows.length} metadata rows, ${npyRows} .npy rows`);
  }
}

/** Every input name has exactly one row in metadata/ or errors/ (matched by the URI's last segment), and nothing else has one. */
export function assertOneRowPerInput(output: RunOutput, names: readonly string[]): void {
  const rowNames = output.parts.flatMap((part) => part.rows).map((row) => row.uri.slice(row.uri.lastIndexOf('/') + 1));
  assert.equal(rowNames.length, names.length, `rows ${rowNames.length}, inputs ${names.length}`);
  assert.deepEqual(rowNames.sort(), [...names].sort());
}

/** Each part's .npy is n x 2048 for its n metadata rows (row i <-> row i). */
export function assertNpyMatchesOkRows(output: RunOutput): void {
  for (const part of output.parts) {
    assert.deepEqual(part.npyShape, [part.metadata.length, 2048], `part ${part.shard}`);
  }
}

/** `resnet-batch status <run> --json`, parsed; asserts exit 0. */
export async function statusJson(run: string, env: Record<string, string>): Promise<StatusJson> {
  const result = await runCli(['status', run, '--json'], env);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as StatusJson;
}

export interface StatusJson {
  state: string;
  images: { total: number; ok: number; error: number; skipped: number; unchanged: number; processed: number };
  shards: { total: number; done: number; failed: number; failed_shards: number[] };
  queue: { waiting: number; active: number; delayed: number; failed: number };
  workers: number | null;
  finalize_error: string | null;
}

/** The JSON log lines a process printed (non-JSON lines are skipped). */
export function logLines(text: string): Array<Record<string, unknown>> {
  return text.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}
