import type { InferenceEngine } from '../shared/inference/engine.ts';
import { PACKAGED_MODEL } from '../shared/inference/model-ref.ts';
import { openEngine } from '../worker/engines/open-engine.ts';
import { threadCounts } from '../worker/thread-counts.ts';

/**
 * int8 / fp32 engine-only speed at one batch size, both engines open in one process and timed in
 * alternation, round after round: on a shared machine the neighbours' load drifts over seconds,
 * and alternating puts the same drift on both sides of the ratio (issue 13's probe did the same).
 */
export interface Int8SpeedRatio {
  batchSize: number;
  rounds: number;
  /** img/s over all rounds, each engine. */
  fp32ImagesPerSecond: number;
  int8ImagesPerSecond: number;
  /**
   * The median of the rounds' int8 / fp32 ratios: each round times both engines back to back, so a
   * round is a paired measurement, and the median leaves out a round a neighbour's burst of work
   * fell on one side of (seen here: one round of 1.6 among 3.2-3.5).
   */
  ratio: number;
  /** int8 / fp32 of the totals of all rounds (what a burst moves most). */
  totalRatio: number;
  /** int8 / fp32 of each round, to show the spread. */
  roundRatios: number[];
}

export async function measureInt8Ratio(
  decoded: readonly Float32Array[],
  batchSize: number,
  rounds = 6,
): Promise<Int8SpeedRatio> {
  const open = (precision: 'fp32' | 'int8') =>
    openEngine({
      choice: 'onnx',
      modelRef: PACKAGED_MODEL,
      precision,
      intraOpNumThreads: threadCounts().intraOpNumThreads,
    });
  const fp32 = (await open('fp32')).engine;
  const int8 = (await open('int8')).engine;
  try {
    const batch = stack(decoded, batchSize);
    await fp32.infer(batch, batchSize);
    await int8.infer(batch, batchSize);
    const seconds = { fp32: 0, int8: 0 };
    const roundRatios: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const fp32Seconds = await timeBatches(fp32, batch, batchSize, 1);
      // int8 runs about 3x as fast: three batches keep each timing about as long as fp32's.
      const int8Seconds = (await timeBatches(int8, batch, batchSize, 3)) / 3;
      seconds.fp32 += fp32Seconds;
      seconds.int8 += int8Seconds;
      roundRatios.push(fp32Seconds / int8Seconds);
    }
    const images = rounds * batchSize;
    return {
      batchSize,
      rounds,
      fp32ImagesPerSecond: images / seconds.fp32,
      int8ImagesPerSecond: images / seconds.int8,
      ratio: median(roundRatios),
      totalRatio: seconds.fp32 / seconds.int8,
      roundRatios,
    };
  } finally {
    await Promise.all([fp32.dispose(), int8.dispose()]);
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function timeBatches(engine: InferenceEngine, batch: Float32Array, size: number, count: number): Promise<number> {
  const started = performance.now();
  for (let index = 0; index < count; index += 1) await engine.infer(batch, size);
  return (performance.now() - started) / 1000;
}

function stack(decoded: readonly Float32Array[], count: number): Float32Array {
  const size = decoded[0]!.length;
  const batch = new Float32Array(size * count);
  for (let index = 0; index < count; index += 1) batch.set(decoded[index % decoded.length]!, index * size);
  return batch;
}
