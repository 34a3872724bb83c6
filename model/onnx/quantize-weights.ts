/**
 * The arithmetic of the int8 graph's constants (quantize-graph.ts places them): per-channel int8
 * weights, int32 biases, and the first convolution's bias with the input means folded in. Plain
 * arrays in and out, no I/O.
 */
import type { PlainTensor } from './fold-batch-norm.ts';

const INT8_MAX = 127;
const INT32_MAX = 2 ** 31 - 1;

export interface PerChannelWeights {
  /** Same shape as the float weight [out, in, kh, kw]; each in [-127, 127] (symmetric: -128 unused). */
  values: Int8Array;
  /** One scale per output channel: max|w| / 127 (1 for an all-zero channel, which stays 0). */
  scales: Float32Array;
}

/** Symmetric int8, zero point 0, one scale per output channel (dimension 0). */
export function quantizePerChannel(weight: PlainTensor): PerChannelWeights {
  const channels = weight.shape[0] ?? 0;
  const perChannel = weight.values.length / channels;
  const scales = new Float32Array(channels);
  const values = new Int8Array(weight.values.length);
  for (let channel = 0; channel < channels; channel += 1) {
    const from = channel * perChannel;
    let largest = 0;
    for (let i = from; i < from + perChannel; i += 1) largest = Math.max(largest, Math.abs(weight.values[i]!));
    const scale = largest > 0 ? Math.fround(largest / INT8_MAX) : 1;
    scales[channel] = scale;
    for (let i = from; i < from + perChannel; i += 1)
      values[i] = clamp(Math.round(weight.values[i]! / scale), INT8_MAX);
  }
  return { values, scales };
}

/**
 * int32, zero point 0, scale = input scale x weight scale per channel, computed in float32 as ORT
 * computes it: QLinearConv adds the bias to the int32 accumulator, which has exactly that scale.
 */
export function quantizeBias(
  bias: Float32Array,
  inputScale: number,
  weightScales: Float32Array,
): { values: Int32Array; scales: Float32Array } {
  const scales = weightScales.map((weightScale) => Math.fround(inputScale * weightScale));
  const values = Int32Array.from(bias, (value, channel) => clamp(Math.round(value / scales[channel]!), INT32_MAX));
  return { values, scales };
}

/**
 * The bias of a conv that sees `x + mean` instead of `x` (mean per input channel, the whole
 * kernel inside the image: the caller pads before adding the mean): conv(W, x + m) = conv(W, x) +
 * sum W m, so b' = b - sum over (c, y, x) of W[o, c, y, x] m[c]. Sums in float64.
 */
export function biasForInputMean(weight: PlainTensor, bias: Float32Array, mean: readonly number[]): Float32Array {
  const [out = 0, inChannels = 0, kh = 0, kw = 0] = weight.shape;
  const area = kh * kw;
  return Float32Array.from({ length: out }, (_, o) => {
    let shift = 0;
    for (let c = 0; c < inChannels; c += 1) {
      const from = (o * inChannels + c) * area;
      let sum = 0;
      for (let i = from; i < from + area; i += 1) sum += weight.values[i]!;
      shift += sum * (mean[c] ?? 0);
    }
    return bias[o]! - shift;
  });
}

function clamp(value: number, limit: number): number {
  return Math.max(-limit, Math.min(limit, value));
}
