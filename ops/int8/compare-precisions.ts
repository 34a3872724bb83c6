/**
 * Runs the fp32 and the int8 model of one model folder on the same preprocessed images, on the
 * ONNX CPU engine (the one that runs both), and compares their outputs (agreement.ts). Used by
 * `resnet-batch evaluate` and by `npm run bench` on its held-out set.
 */
import { stackImages } from '../../shared/inference/engine.ts';
import type { ModelRef } from '../../shared/inference/model-ref.ts';
import type { Precision } from '../../shared/inference/precision.ts';
import { openEngine } from '../../worker/engines/open-engine.ts';
import { type AgreementSummary, compareImage, type ImageAgreement, summarize } from './agreement.ts';

export interface CompareOptions {
  modelRef: ModelRef;
  /** The precision compared with fp32. */
  precision: Exclude<Precision, 'fp32'>;
  /** Images per engine call; default 32. */
  batchSize?: number;
  /** Threads per engine; default every core. */
  intraOpNumThreads?: number;
  /** Lines about a first-use build of the int8 graph. */
  onProgress?(message: string): void;
  /** Called after each batch with the images compared so far. */
  onBatch?(done: number, total: number): void;
}

export interface Comparison {
  summary: AgreementSummary;
  perImage: ImageAgreement[];
  /** The two model ids compared. */
  models: { fp32: string; other: string };
}

export async function comparePrecisions(pixels: readonly Float32Array[], options: CompareOptions): Promise<Comparison> {
  const open = (precision: Precision) =>
    openEngine({
      choice: 'onnx',
      modelRef: options.modelRef,
      precision,
      intraOpNumThreads: options.intraOpNumThreads,
      onProgress: options.onProgress,
    });
  const fp32 = await open('fp32');
  const other = await open(options.precision).catch(async (error: unknown) => {
    await fp32.engine.dispose();
    throw error;
  });
  try {
    const batchSize = options.batchSize ?? 32;
    const sizes = { embedding: fp32.engine.embeddingSize, classes: fp32.engine.classCount };
    const perImage: ImageAgreement[] = [];
    for (let from = 0; from < pixels.length; from += batchSize) {
      const batch = pixels.slice(from, from + batchSize);
      const input = stackImages(batch);
      const reference = await fp32.engine.infer(input, batch.length);
      const quantized = await other.engine.infer(input, batch.length);
      for (let row = 0; row < batch.length; row += 1) perImage.push(compareImage(reference, quantized, row, sizes));
      options.onBatch?.(perImage.length, pixels.length);
    }
    return { summary: summarize(perImage), perImage, models: { fp32: fp32.model.id, other: other.model.id } };
  } finally {
    await Promise.all([fp32.engine.dispose(), other.engine.dispose()]);
  }
}
