import sharp from 'sharp';
import { decodeImage } from '../worker/decode-image.ts';
import type { BenchImage } from './bench-images.ts';

/** Measure 2: worker/decode-image.ts (256 shorter side, 224 centre crop, BGR floats) alone. */
export interface DecodeRate {
  images: number;
  /** One decode at a time with one libvips thread: the rate of one core. */
  oneCoreImagesPerSecond: number;
  /** `cores` decodes at once (one libvips thread each), divided by `cores`. */
  perCoreParallelImagesPerSecond: number;
  cores: number;
}

export async function measureDecode(images: readonly BenchImage[], cores: number): Promise<DecodeRate> {
  const previous = sharp.concurrency();
  sharp.concurrency(1);
  try {
    await decodeImage(images[0]!.bytes);
    let started = performance.now();
    for (const image of images) await decodeImage(image.bytes);
    const oneCore = images.length / ((performance.now() - started) / 1000);

    started = performance.now();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < images.length) await decodeImage(images[next++]!.bytes);
    };
    await Promise.all(Array.from({ length: cores }, lane));
    const parallel = images.length / ((performance.now() - started) / 1000);
    return {
      images: images.length,
      oneCoreImagesPerSecond: oneCore,
      perCoreParallelImagesPerSecond: parallel / cores,
      cores,
    };
  } finally {
    sharp.concurrency(previous);
  }
}
