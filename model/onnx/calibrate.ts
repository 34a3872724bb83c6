/**
 * Calibration: runs the fp32 graph over preprocessed images with every quantization point's
 * tensor exposed as an extra graph output, and returns the range of each (a high percentile of
 * |x|, activation-ranges.ts). Decoding is the caller's: images arrive as model inputs, so model/
 * stays free of the worker's decoder.
 *
 * Time: one fp32 forward pass per image plus reading ~10 M activations per image out of ONNX
 * Runtime and ranked (activation-ranges.ts); about 0.3 s per image on 2 cores.
 */
import { availableParallelism } from 'node:os';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { ModelError } from '../../shared/errors.ts';
import { stackImages } from '../../shared/inference/engine.ts';
import { PercentileOfAbs } from './activation-ranges.ts';
import { ONNX_NAMES } from './build-onnx-resnet.ts';
import type { ActivationRanges, QuantizationPoint } from './quantize-graph.ts';

const { onnx } = onnxProto;

export interface CalibrationOptions {
  /** Percentile of |x| each range covers, in percent; DEFAULT_PERCENTILE (99.999) unless measured otherwise. */
  percentile: number;
  /**
   * Images per forward pass. Default 4: the exposed activations of one ResNet-50 image take
   * about 40 MB, so 4 keep calibration under ~300 MB while the convolutions still batch.
   */
  batchSize?: number;
  /** Threads of the fp32 session; default every core. */
  intraOpNumThreads?: number;
  /** Called after each batch with the images done and the total. */
  onProgress?(done: number, total: number): void;
}

/** The two tails of one tensor: each range end is the percentile of its own side. */
interface TailTrackers {
  positive: PercentileOfAbs;
  negative: PercentileOfAbs;
}

/** Side of the square model input, and its channels (NHWC). */
export interface InputShape {
  size: number;
  channels: number;
}

export async function calibrate(
  fp32: Uint8Array,
  points: readonly QuantizationPoint[],
  images: readonly Float32Array[],
  input: InputShape,
  options: CalibrationOptions,
): Promise<ActivationRanges> {
  if (images.length === 0)
    throw new ModelError('calibration needs at least one image; pass a folder or prefix that holds images');
  const session = await ort.InferenceSession.create(withOutputs(fp32, points), {
    intraOpNumThreads: options.intraOpNumThreads ?? availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const batchSize = options.batchSize ?? 4;
  const trackers = new Map<string, TailTrackers>();
  const names = points.map((point) => point.tensor);
  try {
    for (let from = 0; from < images.length; from += batchSize) {
      const batch = images.slice(from, from + batchSize);
      const pixels = stackImages(batch);
      const feed = new ort.Tensor('float32', pixels, [batch.length, input.size, input.size, input.channels]);
      const outputs = await session.run({ [ONNX_NAMES.input]: feed }, names);
      for (const name of names) {
        const data = outputs[name]?.data as Float32Array;
        const total = (data.length / batch.length) * images.length;
        const tracker = trackers.get(name) ?? {
          positive: new PercentileOfAbs(total, options.percentile),
          negative: new PercentileOfAbs(total, options.percentile),
        };
        trackers.set(name, tracker);
        tracker.positive.add(data, 'positive');
        tracker.negative.add(data, 'negative');
      }
      options.onProgress?.(Math.min(images.length, from + batchSize), images.length);
    }
  } finally {
    await session.release();
  }
  return Object.fromEntries(
    names.map((name) => {
      const tracker = trackers.get(name)!;
      return [name, { min: -tracker.negative.value(), max: tracker.positive.value() }];
    }),
  );
}

/** The fp32 model with each point's tensor added as a graph output (float, shape left to ORT). */
function withOutputs(fp32: Uint8Array, points: readonly QuantizationPoint[]): Uint8Array {
  const model = onnx.ModelProto.decode(fp32);
  const outputs = model.graph?.output ?? [];
  const existing = new Set(outputs.map((output) => output.name));
  for (const point of points) {
    if (existing.has(point.tensor)) continue;
    outputs.push(
      onnx.ValueInfoProto.create({
        name: point.tensor,
        type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } },
      }),
    );
  }
  return onnx.ModelProto.encode(model).finish();
}
