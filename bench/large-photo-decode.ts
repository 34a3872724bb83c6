import sharp from 'sharp';
import { decodeImage } from '../worker/decode-image.ts';
import type { BenchImage } from './bench-images.ts';

/**
 * Decode only on phone-sized photos: 12-megapixel JPEGs (4000x3000, quality 90) made from the
 * fixture photos by upscaling. worker/decode-image.ts resizes to a 256 shorter side, 1/11.7 of
 * 3000, so libjpeg's DCT scaling (shrink-on-load: decode at 1/8 directly) should do most of the
 * shrinking; it is used when the whole pipeline takes well under a full-size decode, measured
 * here side by side (a full decode of 12 MP allocates and fills 36 MB of pixels).
 */
export interface LargePhotoDecode {
  images: number;
  megapixels: number;
  /** decodeImage, one at a time with one libvips thread: one core's rate. */
  oneCoreImagesPerSecond: number;
  /** `cores` decodes at once, per core. */
  perCoreParallelImagesPerSecond: number;
  cores: number;
  /** Mean ms of decodeImage and of a plain full-size decode of the same JPEGs (one thread). */
  pipelineMs: number;
  fullDecodeMs: number;
  /** decodeImage under half of a full decode: the JPEG was shrunk on load. */
  shrinkOnLoad: boolean;
}

const WIDTH = 4000;
const HEIGHT = 3000;

export async function largePhotos(sources: readonly BenchImage[], count: number): Promise<BenchImage[]> {
  const images: BenchImage[] = [];
  for (let index = 0; index < count; index += 1) {
    const source = sources[index % sources.length]!;
    const bytes = await sharp(source.bytes)
      .flatten({ background: '#ffffff' })
      .resize(WIDTH, HEIGHT, { fit: 'cover' })
      .flop(index >= sources.length)
      .jpeg({ quality: 90 })
      .toBuffer();
    images.push({ name: `large-${index}.jpg`, bytes });
  }
  return images;
}

export async function measureLargePhotoDecode(images: readonly BenchImage[], cores: number): Promise<LargePhotoDecode> {
  const previous = sharp.concurrency();
  sharp.concurrency(1);
  try {
    await decodeImage(images[0]!.bytes);
    const pipelineMs = await meanMs(images, (bytes) => decodeImage(bytes));
    const fullDecodeMs = await meanMs(images, (bytes) => sharp(bytes).raw().toBuffer());
    const started = performance.now();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < images.length) await decodeImage(images[next++]!.bytes);
    };
    await Promise.all(Array.from({ length: cores }, lane));
    const parallel = images.length / ((performance.now() - started) / 1000);
    return {
      images: images.length,
      megapixels: (WIDTH * HEIGHT) / 1e6,
      oneCoreImagesPerSecond: 1000 / pipelineMs,
      perCoreParallelImagesPerSecond: parallel / cores,
      cores,
      pipelineMs,
      fullDecodeMs,
      shrinkOnLoad: pipelineMs < fullDecodeMs / 2,
    };
  } finally {
    sharp.concurrency(previous);
  }
}

async function meanMs(images: readonly BenchImage[], decode: (bytes: Buffer) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  for (const image of images) await decode(image.bytes);
  return (performance.now() - started) / images.length;
}
