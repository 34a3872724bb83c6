// `npm run bench`: the issue-5 benchmark, issue 12's start-up and issue 13's int8 measures, everything in one run on this machine (see BENCHMARKS.md
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
// BENCH_PRODUCER_PARQUET_ROWS: rows of the Parquet URL list submitted (default 10,000,000; 0 skips).
// BENCH_CEILING_SHARDS: shards of 256 images the Redis ceiling bench queues (default 3000; the
//   small-shard run queues 4x as many shards of 16). 0 skips it.
// 10-20 minutes on 2 cores, 571 s in the last run on a fast host (the start-up measures of issue 12
// add ~5, the int8 measures of issue 13 ~4, the 10M-row Parquet list and the Redis ceiling of
// issue 15 ~8, and the first run fetches ~270 MB of Debian packages for the held-out photos,
// bench/holdout-images.ts); run it on a quiet machine (the load average is recorded).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveModelLocation } from '../model/model-location.ts';
import { loadInt8ResNet } from '../model/onnx/load-int8-resnet.ts';
import { loadOnnxResNet } from '../model/onnx/load-onnx-resnet.ts';
import { resnet50 } from '../model/spec.ts';
import { comparePrecisions } from '../ops/int8/compare-precisions.ts';
import { PACKAGED_MODEL } from '../shared/inference/model-ref.ts';
import { decodeImage } from '../worker/decode-image.ts';
import { type ThreadCounts, threadCounts } from '../worker/thread-counts.ts';
import { benchImages } from './bench-images.ts';
import { startBenchServices } from './bench-services.ts';
import { refreshBenchmarksTable } from './benchmarks-table.ts';
import { measureDecode } from './decode-throughput.ts';
import { runEndToEnd } from './end-to-end.ts';
import { type EnginePlan, measureEngine } from './engine-throughput.ts';
import { holdoutImages } from './holdout-images.ts';
import { measureInt8Ratio } from './int8-speed.ts';
import { largePhotos, measureLargePhotoDecode } from './large-photo-decode.ts';
import { writeParquetUrlList } from './parquet-url-list.ts';
import { measureProducerMemory, type ProducerMemory } from './producer-memory-run.ts';
import { measureRedisCeiling, type RedisCeiling } from './redis-ceiling.ts';
import { measureStartup } from './startup.ts';
import { type BenchMeasures, evaluateTargets, type Int8Measures, type TargetResult } from './targets.ts';

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
  { choice: 'onnx', precision: 'int8', sampleImages: (batchSize) => Math.max(128, batchSize * 8) },
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
  // The S3 clients of the bench's own harness are made outside shared/storage/s3/s3-client.ts, which
  // turns the SDK's Node 20 notice off for the commands (docs/OPERATIONS.md, "Node versions").
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
  log('decode only: 12-megapixel JPEGs');
  const largePhotoDecode = await measureLargePhotoDecode(await largePhotos(images.slice(0, 5), 10), cpus().length);
  log('int8 graph: first-use build in an empty cache');
  const buildSeconds = await measureInt8Build();

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
    log('engine only: int8 / fp32 in alternation');
    const speed = await measureInt8Ratio(decoded, E2E_BATCH);
    // int8 end to end just before and just after the fp32 run it is compared with (like the
    // efficiency target's engine-only runs): the neighbours' load drifts over minutes here.
    const int8Plan = { engine: 'onnx', precision: 'int8', workers: 1, batchSize: E2E_BATCH, shardSize } as const;
    log('end to end: onnx int8, 1 worker');
    const int8Before = await runEndToEnd(services, int8Plan);
    log('end to end: onnx, 1 worker');
    const onnx = await runEndToEnd(services, { engine: 'onnx', workers: 1, batchSize: E2E_BATCH, shardSize });
    log('end to end: onnx int8, 1 worker, again');
    const int8After = await runEndToEnd(services, int8Plan);
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
      largePhotoDecode,
      int8: {
        buildSeconds,
        speed,
        endToEnd: [int8Before, int8After],
        accuracy: { unavailable: 'not measured yet' },
      },
      startup,
      ...(producerMemoryParquet === undefined ? {} : { producerMemoryParquet }),
      ...(redisCeiling.length === 0 ? {} : { redisCeiling }),
    };
  } finally {
    await services.stop();
  }
  log('int8 accuracy: held-out photos');
  measures.int8.accuracy = await measureAccuracy();

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
    log(`${target.pass ? 'pass' : 'FAIL'}  ${target.name}: ${target.measured.toFixed(4)} (${target.target})`);
  log('wrote bench/results.json and BENCHMARKS.md');
}

/** First-use cost of the int8 graph on this host: both graphs built in an empty cache root. */
async function measureInt8Build(): Promise<Int8Measures['buildSeconds']> {
  const cacheRoot = await mkdtemp(join(tmpdir(), 'bench-int8-'));
  try {
    const { read } = resolveModelLocation(undefined);
    let started = performance.now();
    await loadOnnxResNet(resnet50, read, { cacheRoot });
    const fp32Graph = (performance.now() - started) / 1000;
    started = performance.now();
    await loadInt8ResNet(resnet50, read, { cacheRoot, decode: async (bytes) => (await decodeImage(bytes)).pixels });
    return { fp32Graph, int8Graph: (performance.now() - started) / 1000 };
  } finally {
    await rm(cacheRoot, { recursive: true, force: true });
  }
}

async function measureAccuracy(): Promise<Int8Measures['accuracy']> {
  const holdout = await holdoutImages();
  if ('unavailable' in holdout) return holdout;
  const pixels: Float32Array[] = [];
  for (const image of holdout.images) pixels.push((await decodeImage(image.bytes)).pixels);
  const { summary } = await comparePrecisions(pixels, { modelRef: PACKAGED_MODEL, precision: 'int8' });
  return { summary, photos: holdout.photos };
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
