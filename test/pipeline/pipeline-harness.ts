import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { parquetReadObjects } from 'hyparquet';
import { Redis } from 'ioredis';
import { parse as parseNpy } from 'npyjs';
import { SHARD_QUEUE_NAME } from '../../shared/config.ts';
import type { RunManifest } from '../../shared/output/output-format.ts';
import type { RunRecord } from '../../shared/run/run-record.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { joinUri } from '../../shared/storage/uri.ts';
import { type ServerProcess, startServerProcess } from '../harness/child-process.ts';

/**
 * What the end-to-end tests share: the real CLI as child processes (submit, worker, status,
 * run), a wait on the run record, and independent readers of a run's output (hyparquet for the
 * Parquet parts, npyjs for the .npy parts), so the assertions trust no decoder of our own.
 */

const cliEntry = fileURLToPath(new URL('../../bin/resnet-batch.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `resnet-batch <args>` to completion with `env` merged over this process's environment. */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs = 120_000,
): Promise<CliResult> {
  // An undefined value removes the variable (e.g. REDIS_URL, for `run`'s embedded Redis).
  const merged = Object.fromEntries(
    Object.entries({ ...process.env, ...env }).filter(([, value]) => value !== undefined),
  );
  const child = spawn(process.execPath, [cliEntry, ...args], { env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('close', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** `submit`, asserting exit 0; returns the run id it printed and its stderr summary. */
export async function submit(
  input: string,
  output: string,
  options: { run?: string; shardSize?: number },
  env: Record<string, string>,
): Promise<{ run: string; stderr: string }> {
  const args = ['submit', input, '--output', output];
  if (options.run) args.push('--run', options.run);
  if (options.shardSize) args.push('--shard-size', String(options.shardSize));
  const result = await runCli(args, env);
  if (result.code !== 0) throw new Error(`submit exited ${result.code}:\n${result.stderr}`);
  return { run: result.stdout.trim(), stderr: result.stderr };
}

/**
 * Starts `resnet-batch worker` processes and resolves once each has loaded the model and logged
 * "worker ready". Stop them with stopWorkers (SIGTERM; they must exit 0).
 */
export async function startWorkers(count: number, env: Record<string, string>): Promise<ServerProcess[]> {
  const start = () =>
    startServerProcess(process.execPath, [cliEntry, 'worker', '--engine', 'tfjs-wasm', '--batch-size', '4'], {
      // info: the tests read the workers' "shard done" lines.
      env: { ...process.env, ...env, LOG_LEVEL: 'info' },
      ready: /"msg":"worker ready"/,
      // Loading ResNet-50 on tfjs-wasm takes 5-8 s alone; two at once on a shared 2-core machine, longer.
      timeoutMs: 180_000,
    });
  const started = await Promise.all(Array.from({ length: count }, start));
  return started.map((entry) => entry.server);
}

/** SIGTERM each worker; resolves with their exit codes (0 expected). */
export async function stopWorkers(workers: readonly ServerProcess[]): Promise<Array<number | string>> {
  return Promise.all(
    workers.map(async (worker) => {
      await worker.stop('SIGTERM', 60_000);
      return worker.exited;
    }),
  );
}

/** Polls the run record until its state is done; fails with the record after `timeoutMs`. */
export async function waitForRunDone(
  redisUrl: string,
  prefix: string,
  run: string,
  timeoutMs = 180_000,
): Promise<RunRecord> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  try {
    const registry = new RunRegistry(redis, prefix);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const record = await registry.get(run);
      if (record?.state === 'done') return record;
      if (Date.now() > deadline)
        throw new Error(`run ${run} not done after ${timeoutMs} ms: ${JSON.stringify(record)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    redis.disconnect();
  }
}

/** The shard queue under `prefix`, for job counts and attempts. close() also drops its
 * connection (BullMQ leaves a connection it was handed open). */
export function shardQueue(redisUrl: string, prefix: string): { queue: Queue; close(): Promise<void> } {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(SHARD_QUEUE_NAME, { connection, prefix });
  return {
    queue,
    close: async () => {
      await queue.close();
      connection.disconnect();
    },
  };
}

/** One row of a metadata part as hyparquet reads it (snake_case columns): an image that succeeded. */
export interface MetadataReadRow {
  uri: string;
  etag: string;
  size_bytes: bigint | number;
  width: number;
  height: number;
  top_labels: string[];
  top_indices: number[];
  top_scores: number[];
  model: string;
  engine: string;
  [carried: string]: unknown;
}

/** One row of an errors part: an input that failed. */
export interface ErrorReadRow {
  uri: string;
  etag: string;
  size_bytes: bigint | number;
  error: string;
  [carried: string]: unknown;
}

/** Every input of a shard, whichever part it is in: what the "one row per input" checks look at. */
export interface ReadRow {
  uri: string;
  status: 'ok' | 'error';
  /** `CODE: reason` of a failed input; null when ok. */
  error: string | null;
  /** Null when failed. */
  top_labels: string[] | null;
  [column: string]: unknown;
}

export interface ReadPart {
  shard: number;
  /** The metadata part, in .npy row order. */
  metadata: MetadataReadRow[];
  /** The errors part (the commit marker). */
  errors: ErrorReadRow[];
  /** metadata then errors rows, as ReadRow. */
  rows: ReadRow[];
  npyShape: number[];
  npyData: Float32Array;
}

export interface RunOutput {
  /** Every object key under `<output>/<run>/`, relative to it, sorted. */
  keys: string[];
  parts: ReadPart[];
  manifest: RunManifest;
}

/**
 * Lists and reads everything a run wrote under `<output>/<run>/`. Every shard with a metadata
 * part must have its errors part (the commit marker) and its .npy, or this throws.
 */
export async function readRunOutput(store: ObjectStore, output: string, run: string): Promise<RunOutput> {
  const root = joinUri(output, run).replace(/\/+$/, '');
  const keys: string[] = [];
  for await (const page of store.list(`${root}/`)) for (const info of page) keys.push(info.uri.slice(root.length + 1));
  keys.sort();
  const parts: ReadPart[] = [];
  for (const key of keys) {
    const match = /^metadata\/part-(\d+)\.parquet$/.exec(key);
    if (!match?.[1]) continue;
    const read = async (path: string) => arrayBufferOf(await store.read(`${root}/${path}`));
    const metadata = (await parquetReadObjects({ file: await read(key) })) as unknown as MetadataReadRow[];
    const errors = (await parquetReadObjects({
      file: await read(`errors/part-${match[1]}.parquet`),
    })) as unknown as ErrorReadRow[];
    const npy = parseNpy(await read(`embeddings/part-${match[1]}.npy`));
    const rows: ReadRow[] = [
      ...metadata.map((row) => ({ ...row, status: 'ok' as const, error: null })),
      ...errors.map((row) => ({ ...row, status: 'error' as const, top_labels: null })),
    ];
    parts.push({
      shard: Number(match[1]),
      metadata,
      errors,
      rows,
      npyShape: npy.shape,
      npyData: npy.data as Float32Array,
    });
  }
  const manifest = JSON.parse((await store.read(`${root}/_manifest.json`)).toString('utf8')) as RunManifest;
  return { keys, parts, manifest };
}

/** The keys a complete, undisturbed run of `shards` shards leaves under `<output>/<run>/`. */
export function completeRunKeys(shards: number): string[] {
  const parts = Array.from({ length: shards }, (_, shard) => `part-${String(shard).padStart(5, '0')}`);
  return [
    '_manifest.json',
    '_run.json',
    ...parts.map((part) => `embeddings/${part}.npy`),
    ...parts.map((part) => `errors/${part}.parquet`),
    ...parts.map((part) => `metadata/${part}.parquet`),
  ].sort();
}

function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}
