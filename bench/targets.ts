import type { DecodeRate } from './decode-throughput.ts';
import type { EndToEndResult } from './end-to-end.ts';
import type { EngineRate } from './engine-throughput.ts';
import type { ProducerMemory } from './producer-memory-run.ts';
import type { RedisCeiling } from './redis-ceiling.ts';

/** Everything one `npm run bench` measured (bench/results.json). */
export interface BenchMeasures {
  engines: EngineRate[];
  decode: DecodeRate;
  endToEnd: { onnx: EndToEndResult; null: EndToEndResult; onnxTwoWorkers: EndToEndResult };
  /** onnx-cpu engine only at the end-to-end batch size, measured again right after the onnx end-to-end run. */
  onnxEngineAfterEndToEnd: number;
  producerMemory: ProducerMemory;
  /** The same through the whole of submit, from a Parquet URL list (BENCH_PRODUCER_PARQUET_ROWS rows). */
  producerMemoryParquet?: ProducerMemory;
  /** The ceiling of one Redis: 256-image shards and small ones (bench/redis-ceiling.ts). */
  redisCeiling?: RedisCeiling[];
}

export interface TargetResult {
  name: string;
  /** The rule, in words. */
  target: string;
  measured: number;
  pass: boolean;
}

/** Worker RSS limit of the targets, MB. */
export const WORKER_RSS_LIMIT_MB = 1536;
/** Producer memory counts as flat when its RSS at the end of the listing is at most this multiple of its RSS at 10% (ten times the images). */
export const PRODUCER_FLAT_GROWTH = 1.25;

export function rateAt(engines: readonly EngineRate[], engine: string, batchSize: number): number {
  return (
    engines.find((entry) => entry.engine === engine)?.rates.find((rate) => rate.batchSize === batchSize)
      ?.imagesPerSecond ?? NaN
  );
}

/** The targets, each a ratio or a bound within this one run. NaN (not measured) fails. */
export function evaluateTargets(measures: BenchMeasures, batchSize: number): TargetResult[] {
  const onnx = rateAt(measures.engines, 'onnx-cpu', batchSize);
  const wasm = rateAt(measures.engines, 'tfjs-wasm', batchSize);
  // The engine-only rate measured just before and just after the end-to-end run, so that the
  // neighbours' load, which drifts over minutes on a shared machine, weighs on both sides alike.
  const onnxAround = (onnx + measures.onnxEngineAfterEndToEnd) / 2;
  const { endToEnd, producerMemory, producerMemoryParquet } = measures;
  const workerRss = Math.max(...endToEnd.onnx.workerPeakRssMb);
  const results: Array<Omit<TargetResult, 'pass'> & { ok: (value: number) => boolean }> = [
    {
      name: 'onnx vs tfjs-wasm',
      target: `engine-only onnx-cpu >= 8x tfjs-wasm at batch ${batchSize}`,
      measured: onnx / wasm,
      ok: (value) => value >= 8,
    },
    {
      name: 'end-to-end efficiency',
      target: `one onnx worker end to end / onnx engine only at batch ${batchSize} (mean of just before and just after) >= 0.85`,
      measured: endToEnd.onnx.imagesPerSecond / onnxAround,
      ok: (value) => value >= 0.85,
    },
    {
      name: 'pipeline headroom',
      target: 'null-engine end to end >= 4x onnx end to end',
      measured: endToEnd.null.imagesPerSecond / endToEnd.onnx.imagesPerSecond,
      ok: (value) => value >= 4,
    },
    {
      name: 'worker RSS',
      target: `peak RSS of the onnx worker < ${WORKER_RSS_LIMIT_MB} MB`,
      measured: workerRss,
      ok: (value) => value < WORKER_RSS_LIMIT_MB,
    },
    {
      name: 'producer memory flat',
      target: `producer RSS at 100% of ${producerMemory.objects} URIs <= ${PRODUCER_FLAT_GROWTH}x its RSS at 10%`,
      measured: producerMemory.growth,
      ok: (value) => value <= PRODUCER_FLAT_GROWTH,
    },
    ...(producerMemoryParquet === undefined
      ? []
      : [
          {
            name: 'producer memory flat, Parquet list',
            target: `producer RSS at 100% of a ${producerMemoryParquet.objects}-row Parquet list (submit) <= ${PRODUCER_FLAT_GROWTH}x its RSS at 10%`,
            measured: producerMemoryParquet.growth,
            ok: (value: number) => value <= PRODUCER_FLAT_GROWTH,
          },
        ]),
  ];
  return results.map(({ ok, ...result }) => ({
    ...result,
    pass: Number.isFinite(result.measured) && ok(result.measured),
  }));
}
