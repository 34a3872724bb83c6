/**
 * BatchNorm folded into the convolution before it, and Keras' kernel layout turned into ONNX's.
 * Pure arithmetic on plain arrays, no I/O.
 *
 * Inference-mode BatchNorm is an affine map per output channel, so it merges into the conv:
 *   scale = gamma / sqrt(variance + epsilon)
 *   w'    = w * scale                       (every weight of output channel o)
 *   b'    = (b - mean) * scale + beta       (b = 0 when the conv has no bias)
 * Scales are computed in float64 and rounded once to float32, so the folded net differs from the
 * unfolded one by float32 rounding only (checked against tfjs in test/model/model-onnx-graph.test.ts).
 */

/** A weight as stored in the weights file: row-major values and their shape. */
export interface PlainTensor {
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** One Keras Conv2D: kernel [kh, kw, in, out] and an optional bias [out]. */
export interface KerasConv {
  readonly kernel: PlainTensor;
  readonly bias?: PlainTensor;
}

/** One Keras BatchNormalization over the conv's output channels, each [out]. */
export interface KerasBatchNorm {
  readonly gamma: PlainTensor;
  readonly beta: PlainTensor;
  readonly movingMean: PlainTensor;
  readonly movingVariance: PlainTensor;
}

/** An ONNX Conv's parameters: weight [out, in, kh, kw] and bias [out]. */
export interface FoldedConv {
  readonly weight: PlainTensor;
  readonly bias: PlainTensor;
}

/** Folds `bn` into `conv` and transposes the kernel from [kh, kw, in, out] to [out, in, kh, kw]. */
export function foldBatchNorm(conv: KerasConv, bn: KerasBatchNorm, epsilon: number): FoldedConv {
  const [kh = 0, kw = 0, inChannels = 0, outChannels = 0] = conv.kernel.shape;
  const scale = new Float64Array(outChannels);
  const bias = new Float32Array(outChannels);
  for (let o = 0; o < outChannels; o += 1) {
    const s = at(bn.gamma, o) / Math.sqrt(at(bn.movingVariance, o) + epsilon);
    scale[o] = s;
    bias[o] = ((conv.bias ? at(conv.bias, o) : 0) - at(bn.movingMean, o)) * s + at(bn.beta, o);
  }
  const weight = new Float32Array(conv.kernel.values.length);
  const kernel = conv.kernel.values;
  for (let y = 0; y < kh; y += 1) {
    for (let x = 0; x < kw; x += 1) {
      for (let i = 0; i < inChannels; i += 1) {
        const from = ((y * kw + x) * inChannels + i) * outChannels;
        for (let o = 0; o < outChannels; o += 1) {
          weight[((o * inChannels + i) * kh + y) * kw + x] = (kernel[from + o] ?? 0) * (scale[o] ?? 0);
        }
      }
    }
  }
  return {
    weight: { shape: [outChannels, inChannels, kh, kw], values: weight },
    bias: { shape: [outChannels], values: bias },
  };
}

function at(tensor: PlainTensor, index: number): number {
  return tensor.values[index] ?? 0;
}
