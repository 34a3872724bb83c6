// Start-up (issue 12): wall seconds of whole commands as a user runs them, from spawning
// `node bin/resnet-batch.js` to its exit (or, for a worker, to its "worker ready" line), on one
// image of the fixtures. Each command runs once to warm the caches it keeps (the ONNX graph and
// ONNX Runtime's optimised copy, the weights' digest, the OS page cache), then `repeats` times,
// interleaved so that the neighbours' load drifts over all of them alike; the median is reported.
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServerProcess } from '../test/harness/child-process.ts';

export interface StartupMeasure {
  /** The command line after `resnet-batch`. */
  command: string;
  /** Wall seconds of each timed repeat. */
  seconds: number[];
  medianSeconds: number;
}

export interface StartupResult {
  /** `classify <one image>`: model load and one inference in one process. */
  classifyOneImage: StartupMeasure;
  /** `run <folder of one image> --output <folder>`, own Redis: the README's one-command job. */
  runOneImage: StartupMeasure;
  /** The same `run` from the TypeScript sources through tsx (RESNET_BATCH_FROM_SOURCE=1): what the build saves. */
  runOneImageFromSources: StartupMeasure;
  /** `worker` from spawn to its "worker ready" line (model loaded, connected, taking shards). */
  workerReady: StartupMeasure;
}

const cli = fileURLToPath(new URL('../bin/resnet-batch.js', import.meta.url));
const build = fileURLToPath(new URL('../bin/build.js', import.meta.url));

/**
 * The launcher runs the sources when dist/ is older than them (an edit after `npm ci`), and would
 * silently time tsx instead of what users run; so the bench compiles first, as `npm ci` does.
 */
function buildCompiledCli(): void {
  const built = spawnSync(process.execPath, [build], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`npm run build failed before the start-up measures: ${built.stderr.trim()}`);
}
const image = fileURLToPath(new URL('../test/fixtures/images/chelsea.png', import.meta.url));

export async function measureStartup(redisUrl: string, repeats: number): Promise<StartupResult> {
  buildCompiledCli();
  const dir = await mkdtemp(join(tmpdir(), 'resnet-batch-startup-'));
  try {
    const input = join(dir, 'one');
    await mkdir(input);
    await copyFile(image, join(input, 'chelsea.png'));
    const output = join(dir, 'out');
    const runEnv = { REDIS_URL: undefined, METRICS_PORT: '0' };
    const plans: Array<{ key: keyof StartupResult; args: string[]; time: () => Promise<number> }> = [
      { key: 'classifyOneImage', args: ['classify', image], time: () => timeCommand(['classify', image], {}) },
      {
        key: 'runOneImage',
        args: ['run', input, '--output', output],
        time: () => timeCommand(['run', input, '--output', output], runEnv),
      },
      {
        key: 'runOneImageFromSources',
        args: ['run', input, '--output', output],
        time: () => timeCommand(['run', input, '--output', output], { ...runEnv, RESNET_BATCH_FROM_SOURCE: '1' }),
      },
      { key: 'workerReady', args: ['worker', '--metrics-port', '0'], time: () => timeWorkerReady(redisUrl) },
    ];
    const seconds = new Map(plans.map((plan) => [plan.key, [] as number[]]));
    for (const plan of plans) await plan.time(); // warm-up, not counted
    for (let repeat = 0; repeat < repeats; repeat += 1)
      for (const plan of plans) seconds.get(plan.key)!.push(await plan.time());
    const measure = (plan: (typeof plans)[number]): StartupMeasure => {
      const runs = seconds.get(plan.key)!;
      return { command: plan.args.join(' '), seconds: runs, medianSeconds: median(runs) };
    };
    return Object.fromEntries(plans.map((plan) => [plan.key, measure(plan)])) as unknown as StartupResult;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Wall seconds from spawning `resnet-batch <args>` to its exit; fails unless it exits 0. */
async function timeCommand(args: string[], env: Record<string, string | undefined>): Promise<number> {
  const merged = Object.fromEntries(
    Object.entries({ ...process.env, ...env }).filter(([, value]) => value !== undefined),
  );
  const started = performance.now();
  const child = spawn(process.execPath, [cli, ...args], { env: merged, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`resnet-batch ${args.join(' ')} exited ${code}:\n${stderr}`);
  return seconds;
}

async function timeWorkerReady(redisUrl: string): Promise<number> {
  const started = performance.now();
  const { server } = await startServerProcess(process.execPath, [cli, 'worker', '--metrics-port', '0'], {
    env: { ...process.env, REDIS_URL: redisUrl, LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
    ready: /"msg":"worker ready"/,
    timeoutMs: 120_000,
  });
  const seconds = (performance.now() - started) / 1000;
  await server.stop('SIGTERM', 30_000);
  return seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
