/**
 * The default calibration set of the int8 graph: images the project builds, the same bytes on
 * every host, from the photos it ships (test/fixtures/images: a cat, a cup of coffee, a rocket on
 * its pad, an astronaut's portrait, a horse) plus deterministic variety, because calibration
 * needs the spread of activations real inputs produce more than it needs many images (issue 13:
 * 32-64 varied images were enough; five photos as they are were too alike):
 * - crops from 25% to 100% of the shorter side, so close-ups of fur, metal, fabric and sky look
 *   like other pictures to the network;
 * - mirror images, greyscale, hue, saturation and brightness shifts, blur;
 * - 2x2 collages of four different photos;
 * - "documents": dark lines of varying length on light paper, drawn as SVG shapes (no fonts, so
 *   the pixels do not depend on the fonts a host has).
 * Users with other data calibrate on it with `resnet-batch calibrate` (README, "int8 on the CPU").
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { seededRandom } from '../shared/seeded-random.ts';
import { PROJECT_ROOT } from '../shared/source-location.ts';

/** Bump when the recipe below changes: the digest, hence the cached int8 graph, changes with it. */
export const CALIBRATION_SET_VERSION = 1;

/** Images in the default set. 64: issue 13 found 32-64 varied images enough; more costs ~0.3 s each on 2 cores. */
export const DEFAULT_CALIBRATION_IMAGES = 64;

// From the project root, not from this module: the compiled copy runs from dist/model/.
const SOURCE_FOLDER = join(PROJECT_ROOT, 'test', 'fixtures', 'images');
const SOURCES = ['chelsea.png', 'coffee.png', 'rocket.jpg', 'astronaut.png', 'horse.png'] as const;

export interface CalibrationSet {
  /** Encoded images (JPEG quality 90), decoded by the caller's decoder like any input. */
  images: Buffer[];
  /** sha256 hex of the recipe version, the image count and the source photos' bytes. */
  digest: string;
}

/** The digest of the default set without building it (what the int8 cache is keyed by). */
export async function defaultCalibrationDigest(count = DEFAULT_CALIBRATION_IMAGES): Promise<string> {
  return digestOf(await readSources(), count);
}

/** Builds the default set: `count` images, image i from recipe i alone. */
export async function defaultCalibrationSet(count = DEFAULT_CALIBRATION_IMAGES): Promise<CalibrationSet> {
  const sources = await readSources();
  const images: Buffer[] = [];
  for (let index = 0; index < count; index += 1) images.push(await calibrationImage(sources, index));
  return { images, digest: digestOf(sources, count) };
}

async function readSources(): Promise<Buffer[]> {
  return Promise.all(SOURCES.map((name) => readFile(join(SOURCE_FOLDER, name))));
}

function digestOf(sources: readonly Buffer[], count: number): string {
  const hash = createHash('sha256').update(`calibration-set v${CALIBRATION_SET_VERSION} n${count}\n`);
  for (const source of sources) hash.update(source);
  return hash.digest('hex');
}

/** Every 8th image a document, every 8th from the 4th a collage, the rest one augmented photo. */
async function calibrationImage(sources: readonly Buffer[], index: number): Promise<Buffer> {
  const random = seededRandom(index + 1);
  if (index % 8 === 3) return documentImage(random);
  if (index % 8 === 7) return collage(sources, random);
  return augmentedPhoto(sources[index % sources.length]!, random);
}

async function augmentedPhoto(source: Buffer, random: () => number): Promise<Buffer> {
  const { width = 0, height = 0 } = await sharp(source).metadata();
  const side = Math.max(64, Math.floor(Math.min(width, height) * (0.25 + random() * 0.75)));
  const left = Math.floor(random() * (width - side + 1));
  const top = Math.floor(random() * (height - side + 1));
  let pipeline = sharp(source)
    .flatten({ background: '#ffffff' })
    .extract({ left, top, width: side, height: side })
    .resize(256, 256)
    .flop(random() < 0.5);
  const look = random();
  if (look < 0.2) pipeline = pipeline.greyscale();
  else
    pipeline = pipeline.modulate({
      hue: Math.round((random() - 0.5) * 80),
      saturation: 0.6 + random() * 0.8,
      brightness: 0.7 + random() * 0.6,
    });
  if (random() < 0.15) pipeline = pipeline.blur(1 + random());
  return pipeline.jpeg({ quality: 90 }).toBuffer();
}

async function collage(sources: readonly Buffer[], random: () => number): Promise<Buffer> {
  const offset = Math.floor(random() * sources.length);
  const tiles = await Promise.all(
    [0, 1, 2, 3].map((tile) =>
      sharp(sources[(offset + tile) % sources.length]!)
        .flatten({ background: '#ffffff' })
        .resize(128, 128, { fit: 'cover' })
        .toBuffer(),
    ),
  );
  return sharp({ create: { width: 256, height: 256, channels: 3, background: '#808080' } })
    .composite(tiles.map((input, tile) => ({ input, left: (tile % 2) * 128, top: Math.floor(tile / 2) * 128 })))
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** A page of "text": lines of dark bars of random lengths on light paper, a heading in colour. */
async function documentImage(random: () => number): Promise<Buffer> {
  const paper = 230 + Math.floor(random() * 25);
  const bars: string[] = [];
  const heading = `hsl(${Math.floor(random() * 360)},60%,35%)`;
  bars.push(`<rect x="24" y="20" width="${120 + Math.floor(random() * 80)}" height="14" fill="${heading}"/>`);
  for (let y = 50; y < 240; y += 12) {
    let x = 24;
    while (x < 220) {
      const word = 8 + Math.floor(random() * 28);
      bars.push(`<rect x="${x}" y="${y}" width="${Math.min(word, 232 - x)}" height="6" fill="#202020"/>`);
      x += word + 5;
    }
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256"><rect width="256" height="256" fill="rgb(${paper},${paper},${paper - 8})"/>${bars.join('')}</svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer();
}
