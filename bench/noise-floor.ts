// `node --import tsx bench/noise-floor.ts [--json]`: how far fp32 ResNet-50 moves from itself under
// changes no one can see, on the bench's held-out set (bench/holdout-images.ts), next to how far
// int8 moves from fp32 on the same images. It puts issue 13's int8 accuracy figures on a scale:
// agreement that fp32 itself does not reach between an image and a copy one grey level apart
// cannot be asked of int8. Figures as `resnet-batch evaluate` prints them (ops/int8/agreement.ts).
//
// Perturbations of the fp32 input (each against fp32 on the unchanged image):
// - every channel of every pixel +1 or -1 grey level at random (seeded, clamped to 0-255);
// - the image re-saved as a JPEG at quality 95 before decoding.
// About 2 minutes on 2 cores once the held-out photos are cached (the first run fetches them).
import sharp from 'sharp';
import { PREPROCESS } from '../model/preprocess-spec.ts';
import { type AgreementSummary, compareImage, type ImageAgreement, summarize } from '../ops/int8/agreement.ts';
import { type InferenceEngine, stackImages } from '../shared/inference/engine.ts';
import { PACKAGED_MODEL } from '../shared/inference/model-ref.ts';
import { seededRandom } from '../shared/seeded-random.ts';
import { decodeImage } from '../worker/decode-image.ts';
import { openEngine } from '../worker/engines/open-engine.ts';
import { holdoutImages } from './holdout-images.ts';

const BATCH = 32;
const SEED = 20_151_210; // He et al., 2015 went on arXiv on 10 December 2015

/** Each BGR value one grey level up or down, staying inside 0-255 once the mean is added back. */
function withOneLevelNoise(pixels: Float32Array, random: () => number): Float32Array {
  const noisy = new Float32Array(pixels.length);
  for (let index = 0; index < pixels.length; index += 1) {
    const mean = PREPROCESS.meanBGR[index % 3] ?? 0;
    const level = (pixels[index] ?? 0) + mean;
    const step = random() < 0.5 ? -1 : 1;
    const moved = level + step < 0 || level + step > 255 ? level - step : level + step;
    noisy[index] = moved - mean;
  }
  return noisy;
}

async function inferAll(
  engine: InferenceEngine,
  images: readonly Float32Array[],
): Promise<{ embeddings: Float32Array; probabilities: Float32Array }[]> {
  const batches = [];
  for (let from = 0; from < images.length; from += BATCH) {
    const batch = images.slice(from, from + BATCH);
    batches.push(await engine.infer(stackImages(batch), batch.length));
  }
  return batches;
}

function compareAll(
  reference: { embeddings: Float32Array; probabilities: Float32Array }[],
  other: { embeddings: Float32Array; probabilities: Float32Array }[],
  total: number,
  sizes: { embedding: number; classes: number },
): AgreementSummary {
  const perImage: ImageAgreement[] = [];
  for (let index = 0; index < total; index += 1) {
    const batch = Math.floor(index / BATCH);
    perImage.push(compareImage(reference[batch]!, other[batch]!, index % BATCH, sizes));
  }
  return summarize(perImage);
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const holdout = await holdoutImages();
  if ('unavailable' in holdout) {
    process.stderr.write(`noise-floor: ${holdout.unavailable}\n`);
    process.exitCode = 1;
    return;
  }
  const clean: Float32Array[] = [];
  const resaved: Float32Array[] = [];
  for (const image of holdout.images) {
    clean.push((await decodeImage(image.bytes)).pixels);
    resaved.push((await decodeImage(await sharp(image.bytes).jpeg({ quality: 95 }).toBuffer())).pixels);
  }
  const random = seededRandom(SEED);
  const noisy = clean.map((pixels) => withOneLevelNoise(pixels, random));

  const fp32 = await openEngine({ choice: 'onnx', modelRef: PACKAGED_MODEL, precision: 'fp32' });
  const int8 = await openEngine({ choice: 'onnx', modelRef: PACKAGED_MODEL, precision: 'int8' });
  try {
    const sizes = { embedding: fp32.engine.embeddingSize, classes: fp32.engine.classCount };
    const reference = await inferAll(fp32.engine, clean);
    const results = {
      images: clean.length,
      photos: holdout.photos,
      fp32OneGreyLevel: compareAll(reference, await inferAll(fp32.engine, noisy), clean.length, sizes),
      fp32ResavedJpeg95: compareAll(reference, await inferAll(fp32.engine, resaved), clean.length, sizes),
      int8: compareAll(reference, await inferAll(int8.engine, clean), clean.length, sizes),
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      return;
    }
    const row = (name: string, s: AgreementSummary) =>
      `| ${name} | ${s.top1Agreement.toFixed(3)} | ${s.confidentTop1Agreement.toFixed(3)} (${s.confidentImages}) | ${s.fp32Top1InInt8Top5.toFixed(3)} | ${s.cosineMean.toFixed(4)} / ${s.cosineP5.toFixed(4)} / ${s.cosineMin.toFixed(4)} |`;
    process.stdout.write(
      [
        `${results.images} held-out images (${results.photos} photos), each against fp32 on the unchanged image:`,
        '',
        '| Compared with fp32 | top-1 agreement | where fp32 >= 0.5 (images) | fp32 top-1 in top-5 | cosine mean / 5th pct / min |',
        '|---|---:|---:|---:|---:|',
        row('fp32, every value +-1 grey level', results.fp32OneGreyLevel),
        row('fp32, re-saved as JPEG q95', results.fp32ResavedJpeg95),
        row('int8 (default calibration)', results.int8),
        '',
      ].join('\n'),
    );
  } finally {
    await Promise.all([fp32.engine.dispose(), int8.engine.dispose()]);
  }
}

await main();
