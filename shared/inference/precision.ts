/**
 * Numeric precision of the model a run uses (`--precision`, PRECISION). It belongs to the run like
 * the model: it travels in each shard job, every worker of the run uses it, and the manifest and
 * each metadata row's `model` say it.
 *
 * - fp32: the generated fp32 graph (or the tfjs model): the reference numbers.
 * - int8: the int8 QDQ graph (model/onnx/quantize-graph.ts) on ONNX Runtime's CPU provider, about
 *   3x the fp32 engine on a CPU with AVX-512 VNNI; labels and embeddings agree closely with fp32
 *   (`resnet-batch evaluate` measures how closely on your images). CPU engines only.
 */
export const PRECISIONS = ['fp32', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

export const DEFAULT_PRECISION: Precision = 'fp32';
