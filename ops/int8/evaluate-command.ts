/**
 * `resnet-batch evaluate <input> [--precision int8] [--images N] [--model <uri>] [--json]`: runs
 * the fp32 and the int8 model on the same images and prints how close they are, so a user can
 * decide whether int8 is good enough for their data:
 * - top-1 agreement, overall and on the images fp32 itself is sure of (top probability >= 0.5);
 * - the share of images whose fp32 top-1 is among int8's top 5;
 * - the cosine of the 2048-d embeddings: mean, 5th percentile and minimum.
 * Images that cannot be decoded are left out and counted. Exit 0 once measured (the numbers are
 * for the user to judge); anything fatal is thrown (bin/cli.ts prints it, exit 1).
 */
import { configFromEnv } from '../../shared/config.ts';
import { ConfigError } from '../../shared/errors.ts';
import { resolveModelRef } from '../../shared/inference/model-ref.ts';
import type { Precision } from '../../shared/inference/precision.ts';
import { decodeImage } from '../../worker/decode-image.ts';
import type { AgreementSummary } from './agreement.ts';
import { comparePrecisions } from './compare-precisions.ts';
import { sampleImages } from './sample-images.ts';

export interface EvaluateOptions {
  /** The precision compared with fp32; default (and today the only one) int8. */
  precision?: Exclude<Precision, 'fp32'>;
  /** The first N images of the input in key order. Default 200: the shares are then +-3% at worst. */
  images?: number;
  /** Model folder; default MODEL_URI or the local cache (its int8/ graph when `calibrate` wrote one). */
  model?: string;
  /** One JSON object on stdout instead of the table. */
  json?: boolean;
}

export const DEFAULT_EVALUATE_IMAGES = 200;

export async function evaluateCommand(input: string, options: EvaluateOptions): Promise<number> {
  const config = configFromEnv();
  const say = (message: string): void => void process.stderr.write(`resnet-batch: ${message}\n`);
  const sample = await sampleImages(input, {
    count: options.images ?? DEFAULT_EVALUATE_IMAGES,
    maxBytes: config.MAX_IMAGE_BYTES,
  });
  const pixels: Float32Array[] = [];
  for (const image of sample) {
    const decoded = await decodeImage(image.bytes, { maxPixels: config.MAX_IMAGE_PIXELS }).catch(() => undefined);
    if (decoded) pixels.push(decoded.pixels);
  }
  const undecodable = sample.length - pixels.length;
  if (pixels.length === 0) {
    throw new ConfigError(
      `none of the ${sample.length} images read from ${input} could be decoded; point evaluate at a folder or prefix of JPEG, PNG or WebP images`,
    );
  }
  const precision = options.precision ?? 'int8';
  const comparison = await comparePrecisions(pixels, {
    modelRef: resolveModelRef(options.model, config),
    precision,
    onProgress: say,
    // A line per batch for a person watching; a script's stderr gets the first-use build lines only.
    onBatch: process.stderr.isTTY ? (done, total) => say(`compared ${done}/${total} images`) : undefined,
  });
  const result = { input, precision, models: comparison.models, undecodable, ...comparison.summary };
  process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : table(result));
  return 0;
}

function table(
  result: AgreementSummary & { precision: string; undecodable: number; models: { other: string } },
): string {
  const percent = (value: number) => (Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : 'n/a');
  const rows = [
    [
      `images compared`,
      `${result.images}${result.undecodable > 0 ? ` (${result.undecodable} undecodable, left out)` : ''}`,
    ],
    [`top-1 agreement`, percent(result.top1Agreement)],
    [`  where fp32 top probability >= 0.5`, `${percent(result.confidentTop1Agreement)} of ${result.confidentImages}`],
    [`fp32 top-1 within ${result.precision} top-5`, percent(result.fp32Top1InInt8Top5)],
    [`embedding cosine, mean`, result.cosineMean.toFixed(4)],
    [`embedding cosine, 5th percentile`, result.cosineP5.toFixed(4)],
    [`embedding cosine, minimum`, result.cosineMin.toFixed(4)],
  ];
  const width = Math.max(...rows.map(([label]) => label!.length));
  return `${result.models.other} vs fp32\n${rows.map(([label, value]) => `  ${label!.padEnd(width)}  ${value}`).join('\n')}\n`;
}
