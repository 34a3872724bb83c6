/**
 * The int8 counterpart of load-onnx-resnet.ts: the path of the int8 graph for a model folder's
 * weights, from the first of
 *   1. the local caches (onnx-model-cache.ts int8ModelPath), under the identity digest: the cache
 *      root, then the runtime cache root, like the fp32 graph (load-onnx-resnet.ts graphCacheRoots);
 *   2. the model folder's own int8/ files, made by `resnet-batch calibrate` (int8-artifact.ts);
 *   3. a build from the default calibration set (model/calibration-set.ts), on first use on this
 *      host: 20-30 s on 2 cores, reported through onProgress, cached for every later start.
 * Written into the runtime cache root, atomically (a temporary file renamed), so a build stopped
 * half-way leaves no graph behind. The builder (ONNX Runtime for calibration, the ONNX schema) is
 * imported only when a graph is built, not on a warm start.
 */
import { CALIBRATION_SET_VERSION, defaultCalibrationDigest, defaultCalibrationSet } from '../calibration-set.ts';
import type { ReadModelFile } from '../read-model-file.ts';
import type { ResNetSpec } from '../spec.ts';
import type { BuildProgress, DecodeForCalibration } from './build-int8-resnet.ts';
import {
  type Int8Calibration,
  identityDigest,
  int8ModelId,
  readInt8Calibration,
  readInt8Graph,
} from './int8-artifact.ts';
import {
  checkWritable,
  graphCacheRoots,
  type LoadedOnnxResNet,
  type LoadOnnxOptions,
  loadOnnxResNet,
  writeGraph,
} from './load-onnx-resnet.ts';
import { int8ModelPath, readCachedOnnxDigest } from './onnx-model-cache.ts';

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
  const shipped = await readInt8Calibration(read, { spec: spec.name, weightsSha256: fp32.weightsSha256 });
  if (shipped) return fromModelFolder(fp32, shipped, read, options);
  const digest = identityDigest({
    weightsSha256: fp32.weightsSha256,
    spec: spec.name,
    calibrationDigest: await defaultCalibrationDigest(),
  });
  const source = `default set v${CALIBRATION_SET_VERSION}`;
  const loaded = { ...fp32, modelId: int8ModelId(fp32.modelId, digest), int8Digest: digest, calibrationSource: source };
  const cached = await findCachedInt8(digest, options);
  if (cached) return { ...loaded, ...cached, generated: false };
  const modelPath = int8ModelPath(digest, graphCacheRoots(options).writableRoot);
  await checkWritable(modelPath); // before the 20-30 s of the build, not after
  options.onProgress?.('building the int8 model for this host (first use; 20-30 s on 2 cores)');
  const [{ images }, { buildInt8ResNet }] = await Promise.all([
    defaultCalibrationSet(),
    import('./build-int8-resnet.ts'),
  ]);
  const built = await buildInt8ResNet({
    fp32Path: fp32.modelPath,
    spec,
    images,
    decode: options.decode,
    source,
    onProgress: options.onProgress,
  });
  return { ...loaded, modelPath, onnxSha256: await writeGraph(modelPath, built.bytes), generated: true };
}

async function fromModelFolder(
  fp32: LoadedOnnxResNet,
  calibration: Int8Calibration,
  read: ReadModelFile,
  options: LoadInt8Options,
): Promise<LoadedInt8ResNet> {
  const loaded = {
    ...fp32,
    modelId: int8ModelId(fp32.modelId, calibration.digest),
    int8Digest: calibration.digest,
    calibrationSource: calibration.calibration.source,
  };
  const cached = await findCachedInt8(calibration.digest, options);
  if (cached?.onnxSha256 === calibration.onnx_sha256) return { ...loaded, ...cached, generated: false };
  const modelPath = int8ModelPath(calibration.digest, graphCacheRoots(options).writableRoot);
  const bytes = await readInt8Graph(read, calibration);
  await checkWritable(modelPath);
  return { ...loaded, modelPath, onnxSha256: await writeGraph(modelPath, bytes), generated: false };
}

/** The first cache root holding the int8 graph of this identity digest, with the graph's digest. */
async function findCachedInt8(
  digest: string,
  options: LoadOnnxOptions,
): Promise<{ modelPath: string; onnxSha256: string } | undefined> {
  for (const root of graphCacheRoots(options).roots) {
    const modelPath = int8ModelPath(digest, root);
    const onnxSha256 = await readCachedOnnxDigest(modelPath);
    if (onnxSha256) return { modelPath, onnxSha256 };
  }
  return undefined;
}
