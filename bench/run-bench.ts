// `npm run bench`: the issue-5 benchmark, everything in one run on this machine (see BENCHMARKS.md
// for what each number means). Writes bench/results.json and refreshes the table in BENCHMARKS.md.
//
//   npm run bench
//   BENCH_IMAGES=384 BENCH_SHARD_SIZE=64 BENCH_PRODUCER_OBJECTS=1000000 npm run bench
//
// BENCH_IMAGES: distinct images uploaded and run end to end (default 384, at least 200).
// BENCH_SHARD_SIZE: images per shard of the end-to-end runs (default 64: six shards, so that
//   shard boundaries and the second shard in flight are part of what is measured).
// BENCH_PRODUCER_OBJECTS: synthetic URIs the producer enqueues (default 1,000,000).
// BENCH_PRODUCER_PARQUET_ROWS: rows of the Parquet URL list submitted (default 10,000,000; 0 skips).
// BENCH_CEILING_SHARDS: shards of 256 images the Redis ceiling bench queues (default 3000; the
//   small-shard run queues 4x as many shards of 16). 0 skips it.
// About 5 minutes on 2 cores; run it on a quiet machine (the load average is recorded).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../worker/decode-image.ts';
import { type ThreadCounts, threadCounts } from '../worker/thread-counts.ts';
import { benchImages } from './bench-images.ts';
import { startBenchServices } from './bench-services.ts';
import { refreshBenchmarksTable } from './benchmarks-table.ts';
import { measureDecode } from './decode-throughput.ts';
import { runEndToEnd } from './end-to-end.ts';
import { type EnginePlan, measureEngine } from './engine-throughput.ts';
import { writeParquetUrlList } from './parquet-url-list.ts';
import { measureProducerMemory, type ProducerMemory } from './producer-memory-run.ts';
import { measureRedisCeiling, type RedisCeiling } from './redis-ceiling.ts';
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
    const parquetRows = intFromEnv('BENCH_PRODUCER_PARQUET_ROWS', 10_000_000);
    log(`producer memory: a ${parquetRows}-row Parquet list through submit`);
    const producerMemoryParquet =
      parquetRows > 0 ? await parquetProducerMemory(services.redisUrl, parquetRows) : undefined;
    const ceilingShards = intFromEnv('BENCH_CEILING_SHARDS', 3000);
    const redisCeiling: RedisCeiling[] = [];
    if (ceilingShards > 0) {
      log(`Redis ceiling: ${ceilingShards} shards of 256 images`);
      redisCeiling.push(
        await measureRedisCeiling({ shardSize: 256, shards: ceilingShards, processes: 2, workersPerProcess: 16 }),
      );
      log(`Redis ceiling: ${ceilingShards * 4} shards of 16 images`);
      redisCeiling.push(
        await measureRedisCeiling({ shardSize: 16, shards: ceilingShards * 4, processes: 2, workersPerProcess: 16 }),
      );
    }
    measures = {
      engines,
      decode,
      endToEnd: { onnx, null: nullRun, onnxTwoWorkers },
      onnxEngineAfterEndToEnd: after.rates[0]?.imagesPerSecond ?? NaN,
      producerMemory,
      ...(producerMemoryParquet === undefined ? {} : { producerMemoryParquet }),
      ...(redisCeiling.length === 0 ? {} : { redisCeiling }),
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

/** The producer memory bench on a Parquet URL list written for it in a temporary folder. */
async function parquetProducerMemory(redisUrl: string, rows: number): Promise<ProducerMemory> {
  const folder = await mkdtemp(join(tmpdir(), 'bench-parquet-list-'));
  try {
    const list = join(folder, 'urls.parquet');
    await writeParquetUrlList(list, rows);
    return await measureProducerMemory(redisUrl, rows, list);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

await main();
