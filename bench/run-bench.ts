// `npm run bench`: the issue-5 benchmark and issue 12's start-up, everything in one run on this machine (see BENCHMARKS.md
// for what each number means). Writes bench/results.json and refreshes the table in BENCHMARKS.md.
//
//   npm run bench
//   BENCH_IMAGES=384 BENCH_SHARD_SIZE=64 BENCH_PRODUCER_OBJECTS=1000000 npm run bench
//
// BENCH_IMAGES: distinct images uploaded and run end to end (default 384, at least 200).
// BENCH_SHARD_SIZE: images per shard of the end-to-end runs (default 64: six shards, so that
//   shard boundaries and the second shard in flight are part of what is measured).
// BENCH_PRODUCER_OBJECTS: synthetic URIs the producer enqueues (default 1,000,000).
// BENCH_STARTUP_REPEATS: timed repeats of each start-up command (default 7; the median is kept).
// About 5 minutes on 2 cores; run it on a quiet machine (the load average is recorded).
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../worker/decode-image.ts';
import { type ThreadCounts, threadCounts } from '../worker/thread-counts.ts';
import { benchImages } from './bench-images.ts';
import { startBenchServices } from './bench-services.ts';
import { refreshBenchmarksTable } from './benchmarks-table.ts';
import { measureDecode } from './decode-throughput.ts';
import { runEndToEnd } from './end-to-end.ts';
import { type EnginePlan, measureEngine } from './engine-throughput.ts';
import { measureProducerMemory } from './producer-memory-run.ts';
import { measureStartup } from './startup.ts';
import { type BenchMeasures, evaluateTargets, type TargetResult } from './targets.ts';

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  seconds: number;
  images: number;
  machine: {
    cpus: number;
    cpuModel: string;
    node: string;
    loadAverageBefore: number[];
    loadAverageAfter: number[];
    threads: ThreadCounts;
  };
  measures: BenchMeasures;
  targets: TargetResult[];
}

const BATCH_SIZES = [1, 8, 32] as const;
/** The batch size of the end-to-end runs, and the one the ratios compare at. */
const E2E_BATCH = 32;

const ENGINES: EnginePlan[] = [
  { choice: 'onnx', sampleImages: (batchSize) => Math.max(64, batchSize * 4) },
  // ~3 img/s: a small sample (16 images, one batch of 32) keeps this under a minute.
  { choice: 'tfjs-wasm', sampleImages: (batchSize) => Math.max(16, batchSize) },
  {
    choice: 'tfjs-node',
    requiresPackage: '@tensorflow/tfjs-node',
    sampleImages: (batchSize) => Math.max(32, batchSize * 2),
  },
];

const intFromEnv = (name: string, fallback: number): number =>
  process.env[name] ? Number(process.env[name]) : fallback;

async function main(): Promise<void> {
  // The S3 clients of the bench's own harness are made outside shared/storage/s3-client.ts, which
  // turns the SDK's Node 20 notice off for the commands (README, "Node 20 or 22").
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const startedAt = new Date();
  const loadAverageBefore = loadavg();
  const imageCount = Math.max(200, intFromEnv('BENCH_IMAGES', 384));
  const shardSize = intFromEnv('BENCH_SHARD_SIZE', 64);
  const log = (message: string) =>
    process.stderr.write(`[bench ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)}s] ${message}\n`);

  log(`generating ${imageCount} images`);
  const images = await benchImages(imageCount);
  log('decode only');
  const decode = await measureDecode(images.slice(0, 128), cpus().length);
  const decoded = await Promise.all(images.slice(0, 32).map(async (image) => (await decodeImage(image.bytes)).pixels));

  log('starting Redis and the S3 server, uploading');
  const services = await startBenchServices(images);
  let measures: BenchMeasures;
  try {
    // First, while nothing of the bench runs yet: whole commands, spawned as a user runs them.
    log('start-up: classify, run and worker on one image');
    const startup = await measureStartup(services.redisUrl, intFromEnv('BENCH_STARTUP_REPEATS', 7));
    // Engines last-to-first, so onnx-cpu is measured right before the onnx end-to-end run its
    // efficiency is compared with (the machine's load drifts over minutes).
    const engines = [];
    for (const plan of [...ENGINES].reverse()) {
      log(`engine only: ${plan.choice}`);
      engines.unshift(await measureEngine(plan, decoded, BATCH_SIZES));
    }
    engines.push({
      engine: 'tfjs-node-gpu',
      installed: false,
      note: 'no GPU on this machine (and the package is not installed)',
      rates: [],
    });
    log('end to end: onnx, 1 worker');
    const onnx = await runEndToEnd(services, { engine: 'onnx', workers: 1, batchSize: E2E_BATCH, shardSize });
    log('engine only: onnx again, after the end-to-end run');
    const after = await measureEngine(ENGINES[0]!, decoded, [E2E_BATCH]);
    log('end to end: null engine, 1 worker');
    const nullRun = await runEndToEnd(services, { engine: 'null', workers: 1, batchSize: E2E_BATCH, shardSize });
    log('end to end: onnx, 2 workers');
    const onnxTwoWorkers = await runEndToEnd(services, { engine: 'onnx', workers: 2, batchSize: E2E_BATCH, shardSize });
    const objects = intFromEnv('BENCH_PRODUCER_OBJECTS', 1_000_000);
    log(`producer memory: ${objects} URIs`);
    const producerMemory = await measureProducerMemory(services.redisUrl, objects);
    measures = {
      engines,
      decode,
      endToEnd: { onnx, null: nullRun, onnxTwoWorkers },
      onnxEngineAfterEndToEnd: after.rates[0]?.imagesPerSecond ?? NaN,
      producerMemory,
      startup,
    };
  } finally {
    await services.stop();
  }

  const finishedAt = new Date();
  const results: BenchResults = {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    images: imageCount,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      loadAverageBefore,
      loadAverageAfter: loadavg(),
      threads: threadCounts(),
    },
    measures,
    targets: evaluateTargets(measures, E2E_BATCH),
  };
  await writeFile(fileURLToPath(new URL('./results.json', import.meta.url)), `${JSON.stringify(results, null, 2)}\n`);
  await refreshBenchmarksTable(fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url)), results);
  for (const target of results.targets)
    log(`${target.pass ? 'pass' : 'FAIL'}  ${target.name}: ${target.measured.toFixed(2)} (${target.target})`);
  log('wrote bench/results.json and BENCHMARKS.md');
}

await main();
