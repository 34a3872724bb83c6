/**
 * How close int8 outputs are to fp32 outputs on the same images: the figures `evaluate` prints
 * and `npm run bench` checks against issue 13's targets. Pure arithmetic, no I/O.
 */

/** One image's comparison. */
export interface ImageAgreement {
  /** fp32's top-1 class equals int8's. */
  sameTop1: boolean;
  /** fp32's top-1 class is among int8's five highest. */
  fp32Top1InInt8Top5: boolean;
  /** fp32's top-1 probability (how sure fp32 itself was). */
  fp32TopProbability: number;
  /** Cosine of the two embeddings. */
  cosine: number;
}

export interface AgreementSummary {
  images: number;
  /** Share of images with the same top-1. */
  top1Agreement: number;
  /** Images where fp32's top probability is at least CONFIDENT_PROBABILITY, and their top-1 agreement (NaN when none). */
  confidentImages: number;
  confidentTop1Agreement: number;
  /** Share of images whose fp32 top-1 is in the int8 top-5. */
  fp32Top1InInt8Top5: number;
  cosineMean: number;
  /** 5th percentile of the cosine (nearest rank): 95% of images are at least this close. */
  cosineP5: number;
  cosineMin: number;
}

/** fp32 top probability from which an image counts as one fp32 is sure of (issue 13's split). */
export const CONFIDENT_PROBABILITY = 0.5;

/** Compares row `row` of two batches' outputs. */
export function compareImage(
  fp32: { embeddings: Float32Array; probabilities: Float32Array },
  int8: { embeddings: Float32Array; probabilities: Float32Array },
  row: number,
  sizes: { embedding: number; classes: number },
): ImageAgreement {
  const slice = (values: Float32Array, width: number) => values.subarray(row * width, (row + 1) * width);
  const p32 = slice(fp32.probabilities, sizes.classes);
  const p8 = slice(int8.probabilities, sizes.classes);
  const top1 = argmax(p32);
  const top5 = topIndices(p8, 5);
  return {
    sameTop1: top5[0] === top1,
    fp32Top1InInt8Top5: top5.includes(top1),
    fp32TopProbability: p32[top1] ?? 0,
    cosine: cosine(slice(fp32.embeddings, sizes.embedding), slice(int8.embeddings, sizes.embedding)),
  };
}

export function summarize(images: readonly ImageAgreement[]): AgreementSummary {
  const share = (list: readonly ImageAgreement[], test: (image: ImageAgreement) => boolean) =>
    list.length === 0 ? Number.NaN : list.filter(test).length / list.length;
  const confident = images.filter((image) => image.fp32TopProbability >= CONFIDENT_PROBABILITY);
  const cosines = images.map((image) => image.cosine).sort((a, b) => a - b);
  return {
    images: images.length,
    top1Agreement: share(images, (image) => image.sameTop1),
    confidentImages: confident.length,
    confidentTop1Agreement: share(confident, (image) => image.sameTop1),
    fp32Top1InInt8Top5: share(images, (image) => image.fp32Top1InInt8Top5),
    cosineMean: cosines.reduce((sum, value) => sum + value, 0) / cosines.length,
    cosineP5: cosines[Math.max(0, Math.ceil(0.05 * cosines.length) - 1)] ?? Number.NaN,
    cosineMin: cosines[0] ?? Number.NaN,
  };
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i += 1) if (values[i]! > values[best]!) best = i;
  return best;
}

function topIndices(values: Float32Array, k: number): number[] {
  return [...values.keys()].sort((a, b) => values[b]! - values[a]!).slice(0, k);
}

/** Cosine similarity, summed in float64. */
function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i += 1) {
    dot += a[i]! * b[i]!;
    normA += a[i]! * a[i]!;
    normB += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(normA * normB);
}
