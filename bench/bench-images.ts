import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { seededRandom } from '../shared/seeded-random.ts';

/**
 * The benchmark's images: the fixture photos (test/fixtures/images), each turned into many
 * distinct files by a deterministic resize, crop, flip and re-encode, so that no two uploads are
 * the same bytes and the decoder sees the spread of sizes and formats a real folder has
 * (shorter side 240-800 px; 70% JPEG, 20% PNG, 10% WebP).
 */
export const PHOTOS = ['chelsea.png', 'coffee.png', 'rocket.jpg', 'astronaut.png', 'horse.png'] as const;

export interface BenchImage {
  name: string;
  bytes: Buffer;
}

const fixtures = fileURLToPath(new URL('../test/fixtures/images/', import.meta.url));

export async function benchImages(count: number): Promise<BenchImage[]> {
  const sources = await Promise.all(PHOTOS.map((name) => readFile(`${fixtures}${name}`)));
  const images: BenchImage[] = [];
  // A few at a time: sharp encodes off the JS thread, one core each.
  for (let start = 0; start < count; start += 4) {
    const indices = Array.from({ length: Math.min(4, count - start) }, (_, offset) => start + offset);
    images.push(...(await Promise.all(indices.map((index) => variant(sources[index % sources.length]!, index)))));
  }
  return images;
}

/** Variant `index` of `source`: a pseudo-random but repeatable recipe from the index alone. */
async function variant(source: Buffer, index: number): Promise<BenchImage> {
  const random = seededRandom(index + 1);
  const { width = 0, height = 0 } = await sharp(source).metadata();
  const keep = 0.75 + random() * 0.25;
  const cropWidth = Math.max(64, Math.floor(width * keep));
  const cropHeight = Math.max(64, Math.floor(height * keep));
  const left = Math.floor(random() * (width - cropWidth));
  const top = Math.floor(random() * (height - cropHeight));
  const shorter = 240 + Math.floor(random() * 560);
  let pipeline = sharp(source)
    .extract({ left, top, width: cropWidth, height: cropHeight })
    .resize({
      width: cropWidth <= cropHeight ? shorter : undefined,
      height: cropWidth > cropHeight ? shorter : undefined,
    })
    .flop(random() < 0.5)
    .modulate({ brightness: 0.85 + random() * 0.3 });
  const format = random();
  if (format < 0.7) pipeline = pipeline.jpeg({ quality: 75 + Math.floor(random() * 20) });
  else if (format < 0.9) pipeline = pipeline.png({ compressionLevel: 4 });
  else pipeline = pipeline.webp({ quality: 80 });
  const extension = format < 0.7 ? 'jpg' : format < 0.9 ? 'png' : 'webp';
  return { name: `${String(index).padStart(5, '0')}.${extension}`, bytes: await pipeline.toBuffer() };
}
