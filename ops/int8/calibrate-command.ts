/**
 * `resnet-batch calibrate <input> [--images N] --output <model-uri> [--model <uri>] [--json]`:
 * makes the int8 graph from the user's own images and writes a complete model folder that
 * `--model <model-uri> --precision int8` then runs (and `--precision fp32` too: the weights are
 * copied beside it). model/onnx/int8-artifact.ts lays the folder out (and says why one stopped
 * half-way never loads wrong); this command samples the images, builds the graph and reports.
 * Exit codes: 0 written; anything fatal is thrown (bin/cli.ts prints it, exit 1).
 */
import { DEFAULT_CALIBRATION_IMAGES } from '../../model/calibration-set.ts';
import { locateModel } from '../../model/model-location.ts';
import { buildInt8ResNet } from '../../model/onnx/build-int8-resnet.ts';
import { int8ModelId, writeInt8ModelFolder } from '../../model/onnx/int8-artifact.ts';
import { prepareOnnxModel } from '../../model/onnx/prepare-onnx-model.ts';
import { resnet50 } from '../../model/spec.ts';
import { configFromEnv } from '../../shared/config.ts';
import { resolveModelRef } from '../../shared/inference/model-ref.ts';
import { normalizeUri } from '../../shared/storage/uri.ts';
import { decodeImage } from '../../worker/decode-image.ts';
import { sampleImages } from './sample-images.ts';

export interface CalibrateOptions {
  /** Model folder to write: a local folder, file:// or s3:// prefix (required). */
  output: string;
  /**
   * Calibration images: the first N of the input in key order. Default 64 (issue 13: 32-64 varied
   * images were enough; variety matters more than count). Each costs about 0.3 s on 2 cores.
   */
  images?: number;
  /** Weights to calibrate; default MODEL_URI or the local cache. */
  model?: string;
  /** One JSON object on stdout instead of the summary line. */
  json?: boolean;
}

export async function calibrateCommand(input: string, options: CalibrateOptions): Promise<number> {
  const started = performance.now();
  const config = configFromEnv();
  const say = (message: string): void => void process.stderr.write(`resnet-batch: ${message}\n`);
  const count = options.images ?? DEFAULT_CALIBRATION_IMAGES;
  say(`reading up to ${count} images from ${input}`);
  // The input first: a wrong URI is reported before seconds of model loading.
  const sample = await sampleImages(input, { count, maxBytes: config.MAX_IMAGE_BYTES });
  const location = locateModel(resolveModelRef(options.model, config));
  const fp32 = await prepareOnnxModel(resnet50, location.read, { precision: 'fp32' });
  const source = normalizeUri(input);
  const built = await buildInt8ResNet({
    fp32Path: fp32.modelPath,
    spec: resnet50,
    images: sample.map((image) => image.bytes),
    decode: async (bytes) => (await decodeImage(bytes, { maxPixels: config.MAX_IMAGE_PIXELS })).pixels,
    source,
    onProgress: say,
  });
  const output = normalizeUri(options.output);
  say(`writing the model folder ${output}`);
  const { digest } = await writeInt8ModelFolder(output, location.read, {
    graph: built.bytes,
    spec: resnet50.name,
    weightsSha256: fp32.weightsSha256,
    calibration: { source, images: built.images, digest: built.imagesDigest },
  });
  const summary = {
    model_uri: output,
    model_id: int8ModelId(fp32.modelId, digest),
    images: built.images,
    refused: built.refused,
    seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  };
  if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else
    process.stderr.write(
      `int8 model ${summary.model_id} calibrated on ${built.images} image(s)${built.refused > 0 ? ` (${built.refused} could not be decoded)` : ''} in ${summary.seconds} s; run it with --model ${output} --precision int8\n`,
    );
  return 0;
}
