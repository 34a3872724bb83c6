import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { Redis } from 'ioredis';
import { PACKAGED_MODEL } from '../shared/inference/model-ref.ts';
import { RunRegistry } from '../shared/run/run-registry.ts';
import { openStore } from '../shared/storage/open-store.ts';
import { stagePhotoCopies } from '../test/harness/fixtures.ts';
import { startRedis } from '../test/harness/redis-server.ts';
import { openEngine } from '../worker/engines/open-engine.ts';
import { processShard } from '../worker/process-shard.ts';

/**
 * Soak (not in CI): many images through ONE worker, watching for leaks.
 *
 * - `--mode worker` (default): a real `resnet-batch worker --engine <engine>` child process and a
 *   real redis-server; `--images` copies of the fixture photos are submitted in shards of 32 and
 *   the worker's RSS is read from /proc/<pid>/status every 2 s until the run is done.
 * - `--mode tensors`: the worker's shard code (processShard) in this process on a tfjs engine, so
 *   tf.memory().numTensors can be read after every shard (a worker process runs its engine on a
 *   thread of its own, out of reach). RSS of this process is sampled too.
 *
 * Prints one JSON object: samples and the verdicts (numTensors flat; RSS growth after warm-up,
 * the first `--warmup` fraction of the run, under 10%).
 *
 *   node --import tsx bench/soak.ts --mode worker --engine onnx --images 2000
 *   node --import tsx bench/soak.ts --mode tensors --engine tfjs-wasm --images 300
 */

const cliEntry = fileURLToPath(new URL('../bin/resnet-batch.js', import.meta.url));
const SHARD_SIZE = 32;

interface Sample {
  seconds: number;
  images: number;
  rssMb: number;
  numTensors?: number;
}

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'worker' },
    engine: { type: 'string', default: 'onnx' },
    images: { type: 'string', default: '2000' },
    /** Share of the run counted as warm-up (caches, arenas, JIT); RSS growth is measured after it. */
    warmup: { type: 'string', default: '0.2' },
  },
});

async function main(): Promise<void> {
  const images = Number(values.images);
  const dir = await mkdtemp(join(tmpdir(), 'soak-'));
  try {
    const names = await stagePhotoCopies(join(dir, 'input'), images);
    const started = performance.now();
    const samples =
      values.mode === 'tensors' ? await soakInProcess(dir, names, started) : await soakWorker(dir, started);
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `${JSON.stringify({ mode: values.mode, engine: values.engine, images, seconds: round(seconds), imagesPerSecond: round(images / seconds), ...verdicts(samples, Number(values.warmup)), samples }, null, 1)}\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** RSS of the worker after warm-up: growth from the first sample past warm-up to the last. */
function verdicts(samples: Sample[], warmup: number): Record<string, unknown> {
  const total = samples.at(-1)?.images ?? 0;
  const afterWarmup = samples.filter((sample) => sample.images >= total * warmup);
  const base = afterWarmup[0]?.rssMb ?? 0;
  const last = afterWarmup.at(-1)?.rssMb ?? 0;
  const peak = Math.max(...afterWarmup.map((sample) => sample.rssMb));
  const tensors = samples.flatMap((sample) => (sample.numTensors === undefined ? [] : [sample.numTensors]));
  return {
    rssMbAfterWarmup: base,
    rssMbLast: last,
    rssMbPeakAfterWarmup: peak,
    rssGrowthAfterWarmupPercent: round(((last - base) / base) * 100),
    rssPeakGrowthAfterWarmupPercent: round(((peak - base) / base) * 100),
    ...(tensors.length > 0 ? { numTensorsMin: Math.min(...tensors), numTensorsMax: Math.max(...tensors) } : {}),
  };
}

async function soakWorker(dir: string, started: number): Promise<Sample[]> {
  const redis = await startRedis();
  const env = { ...process.env, REDIS_URL: redis.url, QUEUE_PREFIX: 'soak', LOG_LEVEL: 'warn', METRICS_PORT: '0' };
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  try {
    const run = await cli(
      ['submit', join(dir, 'input'), '--output', join(dir, 'out'), '--shard-size', String(SHARD_SIZE)],
      env,
    );
    const worker = spawn(
      process.execPath,
      [cliEntry, 'worker', '--engine', String(values.engine), '--metrics-port', '0'],
      { env, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const registry = new RunRegistry(connection, 'soak');
    const samples: Sample[] = [];
    try {
      for (;;) {
        const record = await registry.get(run);
        const rssMb = await rssOf(worker.pid!);
        if (record && rssMb > 0)
          samples.push({
            seconds: round((performance.now() - started) / 1000),
            images: record.images.ok + record.images.error,
            rssMb,
          });
        if (record?.state === 'done') return samples;
        if (worker.exitCode !== null) throw new Error(`worker exited ${worker.exitCode} before the run finished`);
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    } finally {
      worker.kill('SIGTERM');
    }
  } finally {
    connection.disconnect();
    await redis.stop();
  }
}

async function soakInProcess(dir: string, names: string[], started: number): Promise<Sample[]> {
  const { engine, model } = await openEngine({ choice: values.engine as 'tfjs-wasm', modelRef: PACKAGED_MODEL });
  const inputRoot = pathToFileURL(join(dir, 'input')).href;
  const samples: Sample[] = [];
  try {
    for (let shard = 0; shard * SHARD_SIZE < names.length; shard += 1) {
      const batch = names.slice(shard * SHARD_SIZE, (shard + 1) * SHARD_SIZE);
      const refs = await Promise.all(
        batch.map(async (name) => ({
          uri: `${inputRoot}/${name}`,
          size: (await stat(join(dir, 'input', name))).size,
          etag: '',
        })),
      );
      const job = {
        v: 2 as const,
        run: 'soak',
        shard,
        output: pathToFileURL(join(dir, 'out')).href,
        model: model.uri,
        inputRoots: [inputRoot],
        images: refs,
        normalize: false,
      };
      await processShard(job, {
        engine,
        labels: model.labels,
        modelId: model.id,
        storeFor: (uri) => openStore(uri),
        batchSize: 8,
        maxImageBytes: 64 * 1024 * 1024,
        carriedColumns: [],
        fetchTimeoutMs: 60_000,
      });
      samples.push({
        seconds: round((performance.now() - started) / 1000),
        images: shard * SHARD_SIZE + batch.length,
        rssMb: round(process.memoryUsage().rss / 2 ** 20),
        numTensors: tf.memory().numTensors,
      });
    }
    return samples;
  } finally {
    await engine.dispose();
  }
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? round(Number(kb) / 1024) : 0;
}

async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(process.execPath, [cliEntry, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`resnet-batch ${args[0]} exited ${code}`);
  return stdout.trim();
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

await main();
