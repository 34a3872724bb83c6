import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type ServerProcess, startServerProcess } from './child-process.ts';

/**
 * The real CLI (bin/resnet-batch.js) as child processes: one-shot commands run to completion
 * with their output and exit code, and long-running workers started until they say they are
 * ready. Each call takes the environment it adds to this process's own, so tests never change
 * process.env and can run servers side by side.
 */

export const cliEntry = fileURLToPath(new URL('../../bin/resnet-batch.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a CLI process of a test's run: its Redis and queue prefix, warnings only,
 * no /metrics port (0: the default one may be taken by anything on the machine). `overrides` win.
 */
export function cliEnv(
  redisUrl: string,
  prefix: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return { REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn', METRICS_PORT: '0', ...overrides };
}

/** Runs `resnet-batch <args>` to completion with `env` merged over this process's environment; SIGKILLed after `timeoutMs`. */
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
 * Starts `resnet-batch worker --engine tfjs-wasm` processes and resolves once each has loaded the
 * model and logged "worker ready". Stop them with stopWorkers (SIGTERM; they must exit 0).
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

export interface WorkerOptions {
  /** Modules loaded into the worker process before the CLI (node --import), e.g. test/reliability/crash-on-uri.ts. */
  preload?: string[];
  /** Milliseconds to wait for "worker ready". Default 120000 (onnx loads in a few seconds; the machine is shared). */
  timeoutMs?: number;
  /** LOG_LEVEL of the worker. Default info, so the tests can read its lines. */
  logLevel?: string;
}

/**
 * Starts one `resnet-batch worker --engine onnx --batch-size 4` child and resolves once it logged
 * "worker ready".
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
      env: { ...process.env, ...env, LOG_LEVEL: options.logLevel ?? 'info' },
      ready: /"msg":"worker ready"/,
      timeoutMs: options.timeoutMs ?? 120_000,
    },
  );
  return server;
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
