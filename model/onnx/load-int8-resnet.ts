/**
 * The int8 counterpart of load-onnx-resnet.ts: the path of the int8 graph for a model folder's
 * weights, from the first of
 *   1. the local cache (onnx-model-cache.ts int8ModelPath), under the identity digest;
 *   2. the model folder's own int8/ files, made by `resnet-batch calibrate` (int8-artifact.ts);
 *   3. a build from the default calibration set (model/calibration-set.ts), on first use on this
 *      host: 20-30 s on 2 cores, reported through onProgress, cached for every later start.
 * Written atomically (a temporary file renamed), so a build stopped half-way leaves no graph behind.
 */
import { ModelError } from '../../shared/errors.ts';
import { CALIBRATION_SET_VERSION, defaultCalibrationDigest, defaultCalibrationSet } from '../calibration-set.ts';
import type { ReadModelFile } from '../read-model-file.ts';
import type { ResNetSpec } from '../spec.ts';
import { type BuildProgress, buildInt8ResNet, type DecodeForCalibration } from './build-int8-resnet.ts';
import {
  INT8_LAYOUT,
  type Int8Calibration,
  identityDigest,
  int8ModelId,
  parseInt8Calibration,
} from './int8-artifact.ts';
import { type LoadedOnnxResNet, type LoadOnnxOptions, loadOnnxResNet } from './load-onnx-resnet.ts';
import { int8ModelPath, readCachedOnnxDigest, sha256Hex, writeCachedOnnx } from './onnx-model-cache.ts';

export interface LoadInt8Options extends LoadOnnxOptions {
  /** Decodes calibration images like the worker does (worker/decode-image.ts). */
  decode: DecodeForCalibration;
  onProgress?: BuildProgress;
}

export interface LoadedInt8ResNet extends LoadedOnnxResNet {
  /** The identity digest the int8 model id ends with. */
  int8Digest: string;
  /** Where the calibration came from: 'default set v1' or the URI `calibrate` was given. */
  calibrationSource: string;
}

export async function loadInt8ResNet(
  spec: ResNetSpec,
  read: ReadModelFile,
  options: LoadInt8Options,
): Promise<LoadedInt8ResNet> {
  const fp32 = await loadOnnxResNet(spec, read, options);
  const shipped = await readShippedCalibration(read);
  if (shipped) return fromModelFolder(fp32, shipped, read, options);
  const digest = identityDigest({
    weightsSha256: fp32.weightsSha256,
    spec: spec.name,
    calibrationDigest: await defaultCalibrationDigest(),
  });
  const source = `default set v${CALIBRATION_SET_VERSION}`;
  const modelPath = int8ModelPath(digest, options.cacheRoot);
  const loaded = { ...fp32, modelId: int8ModelId(fp32.modelId, digest), int8Digest: digest, calibrationSource: source };
  const cached = await readCachedOnnxDigest(modelPath);
  if (cached) return { ...loaded, modelPath, onnxSha256: cached, generated: false };
  options.onProgress?.('building the int8 model for this host (first use; 20-30 s on 2 cores)');
  const { images } = await defaultCalibrationSet();
  const built = await buildInt8ResNet({
    fp32Path: fp32.modelPath,
    spec,
    images,
    decode: options.decode,
    source,
    onProgress: options.onProgress,
  });
  return { ...loaded, modelPath, onnxSha256: await writeCachedOnnx(modelPath, built.bytes), generated: true };
}

async function fromModelFolder(
  fp32: LoadedOnnxResNet,
  calibration: Int8Calibration,
  read: ReadModelFile,
  options: LoadInt8Options,
): Promise<LoadedInt8ResNet> {
  if (calibration.weights_sha256 !== fp32.weightsSha256 || calibration.spec !== fp32.spec.name) {
    throw new ModelError(
      `${INT8_LAYOUT.calibration} was made for ${calibration.spec} weights ${calibration.weights_sha256.slice(0, 12)}, but the model folder holds ${fp32.spec.name} weights ${fp32.weightsSha256.slice(0, 12)}; run resnet-batch calibrate again with this model`,
    );
  }
  const modelPath = int8ModelPath(calibration.digest, options.cacheRoot);
  const loaded = {
    ...fp32,
    modelId: int8ModelId(fp32.modelId, calibration.digest),
    int8Digest: calibration.digest,
    calibrationSource: calibration.calibration.source,
  };
  const cached = await readCachedOnnxDigest(modelPath);
  if (cached === calibration.onnx_sha256) return { ...loaded, modelPath, onnxSha256: cached, generated: false };
  const bytes = await read(INT8_LAYOUT.model);
  if (sha256Hex(bytes) !== calibration.onnx_sha256) {
    throw new ModelError(
      `${INT8_LAYOUT.model} does not match the sha256 in ${INT8_LAYOUT.calibration} (a partial upload or an edited file); run resnet-batch calibrate again`,
    );
  }
  return { ...loaded, modelPath, onnxSha256: await writeCachedOnnx(modelPath, bytes), generated: false };
}

/** The model folder's calibration record, or undefined when the folder has none. */
async function readShippedCalibration(read: ReadModelFile): Promise<Int8Calibration | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await read(INT8_LAYOUT.calibration);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  return parseInt8Calibration(Buffer.from(bytes).toString('utf8'), INT8_LAYOUT.calibration);
}

function isMissing(error: unknown): boolean {
  return error instanceof ModelError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
