import { createRequire } from 'node:module';
import type { EngineChoice } from '../shared/inference/engine.ts';
import { PACKAGED_MODEL } from '../shared/inference/model-ref.ts';
import type { Precision } from '../shared/inference/precision.ts';
import { openEngine } from '../worker/engines/open-engine.ts';
import { threadCounts } from '../worker/thread-counts.ts';

/** Measure 1: engine only, on preprocessed pixels already in memory. */
export interface EngineRate {
  engine: string;
  installed: boolean;
  /** Why an engine was skipped, when it was. */
  note?: string;
  /** Images per second by batch size, and the images timed at each (after one warm-up batch). */
  rates: Array<{ batchSize: number; images: number; imagesPerSecond: number }>;
}

export interface EnginePlan {
  choice: EngineChoice;
  /** Default fp32; an int8 plan is reported as '<engine>-int8'. */
  precision?: Precision;
  /** Optional packages are skipped, with a note, when not installed. */
  requiresPackage?: string;
  /** Images timed per batch size: a slow engine gets a small sample. */
  sampleImages(batchSize: number): number;
}

const require = createRequire(import.meta.url);

export async function measureEngine(
  plan: EnginePlan,
  decoded: Float32Array[],
  batchSizes: readonly number[],
): Promise<EngineRate> {
  if (plan.requiresPackage && !installed(plan.requiresPackage)) {
    return { engine: plan.choice, installed: false, note: `${plan.requiresPackage} is not installed`, rates: [] };
  }
  const { engine } = await openEngine({
    choice: plan.choice,
    modelRef: PACKAGED_MODEL,
    precision: plan.precision,
    intraOpNumThreads: threadCounts().intraOpNumThreads,
  });
  try {
    const rates: EngineRate['rates'] = [];
    for (const batchSize of batchSizes) {
      const batches = Math.max(1, Math.round(plan.sampleImages(batchSize) / batchSize));
      const inputs = Array.from({ length: batches + 1 }, (_, index) => stack(decoded, index * batchSize, batchSize));
      await engine.infer(inputs[0]!, batchSize);
      const started = performance.now();
      for (const input of inputs.slice(1)) await engine.infer(input, batchSize);
      const seconds = (performance.now() - started) / 1000;
      rates.push({ batchSize, images: batches * batchSize, imagesPerSecond: (batches * batchSize) / seconds });
    }
    const name = plan.precision === 'int8' ? `${engine.name}-int8` : engine.name;
    return { engine: name, installed: true, rates };
  } finally {
    await engine.dispose();
  }
}

/** `count` images from `decoded`, cycling, as one NHWC batch starting at image `from`. */
function stack(decoded: Float32Array[], from: number, count: number): Float32Array {
  const size = decoded[0]!.length;
  const batch = new Float32Array(size * count);
  for (let index = 0; index < count; index += 1) batch.set(decoded[(from + index) % decoded.length]!, index * size);
  return batch;
}

function installed(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}
