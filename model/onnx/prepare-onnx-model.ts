/**
 * The one way a model is made ready for an ONNX engine: its weights read (fetched and cached when
 * remote, model-location.ts), and the graph of the precision asked for found in a cache or
 * generated into one: the fp32 graph (load-onnx-resnet.ts, ~10 s on first use), the int8 graph
 * (load-int8-resnet.ts: the model folder's own, else built from the default calibration set,
 * 20-30 s on 2 cores on first use). Resolves with the path an engine opens.
 *
 * Called by the worker before it opens an ONNX engine, and by `run` before it starts its workers
 * (worker/engines/open-engine.ts), and at image build time by `npm run prepare-model`
 * (model/prepare-model.ts). The int8 loader, and what it builds with, is imported only for int8.
 */
import type { ReadModelFile } from '../read-model-file.ts';
import type { ResNetSpec } from '../spec.ts';
import type { BuildProgress, DecodeForCalibration } from './build-int8-resnet.ts';
import { type LoadedOnnxResNet, type LoadOnnxOptions, loadOnnxResNet } from './load-onnx-resnet.ts';

export type PrepareOnnxOptions = LoadOnnxOptions &
  (
    | { precision: 'fp32' }
    | {
        precision: 'int8';
        /** Decodes calibration images as the worker does (worker/decode-image.ts), for a build on this host. */
        decode: DecodeForCalibration;
        /** Lines about a first-use build of the int8 graph. */
        onProgress?: BuildProgress;
      }
  );

export async function prepareOnnxModel(
  spec: ResNetSpec,
  read: ReadModelFile,
  options: PrepareOnnxOptions,
): Promise<LoadedOnnxResNet> {
  if (options.precision === 'fp32') return loadOnnxResNet(spec, read, options);
  const { loadInt8ResNet } = await import('./load-int8-resnet.ts');
  return loadInt8ResNet(spec, read, options);
}
