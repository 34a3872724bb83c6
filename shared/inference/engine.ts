import { ResnetBatchError } from '../errors.ts';
import type { Precision } from './precision.ts';

/**
 * The inference engine contract.
 *
 * An engine owns: loading one model (spec + weights) into a runtime, running a batch of
 * preprocessed images through it, and releasing what it holds. It does not own storage, fetching,
 * decoding or writing results: it receives ready tensors as plain Float32Arrays and returns plain
 * arrays, and checks each batch with checkBatch below. A new runtime is one file in
 * worker/engines/ that passes the contract suite in test/worker/engine-contract.ts, its entry in
 * ENGINES below and its opener in worker/engines/open-engine.ts.
 *
 * Input layout: NHWC float32, `batch * height * width * 3`, channels in BGR order with the
 * ImageNet means already subtracted (see model/preprocess-spec.ts). Output rows keep the
 * order of the input.
 */
export interface InferenceEngine {
  /** Stable engine name as written into results: 'tfjs-wasm', 'tfjs-node', 'tfjs-node-gpu', 'onnx-cpu', ... */
  readonly name: string;
  /** Width of the pooled embedding (2048 for ResNet-50). */
  readonly embeddingSize: number;
  /** Number of classes of the classifier head (1000 for ImageNet). */
  readonly classCount: number;

  /** Runs one batch. `pixels.length` must equal `count * inputSize * inputSize * 3`. */
  infer(pixels: Float32Array, count: number): Promise<BatchOutput>;

  /** Frees the model and runtime resources. The engine is unusable afterwards. */
  dispose(): Promise<void>;
}

export interface BatchOutput {
  /** `count * embeddingSize` floats, row-major, one row per input image. */
  embeddings: Float32Array;
  /** `count * classCount` softmax probabilities, row-major. */
  probabilities: Float32Array;
}

/**
 * Every engine, fastest first: the one list the CLI's `--engine` choices, the ENGINE variable,
 * `--engine auto` (worker/engines/open-engine.ts: the first one this host runs) and the docs
 * derive from. `choice` is what users type, `name` what results record, `precisions` the model
 * precisions it runs (shared/inference/precision.ts; `--engine auto` picks among those that run the asked one).
 */
export const ENGINES = [
  {
    choice: 'tfjs-node-gpu',
    name: 'tfjs-node-gpu',
    describe: 'TensorFlow.js with libtensorflow on a CUDA 11.2 GPU',
    precisions: ['fp32'],
  },
  {
    choice: 'onnx-cuda',
    name: 'onnx-cuda',
    describe: "ONNX Runtime's CUDA provider on a CUDA 12 GPU",
    precisions: ['fp32'],
  },
  { choice: 'onnx', name: 'onnx-cpu', describe: 'ONNX Runtime on the CPU (bundled)', precisions: ['fp32', 'int8'] },
  {
    choice: 'tfjs-node',
    name: 'tfjs-node',
    describe: 'TensorFlow.js with libtensorflow on the CPU',
    precisions: ['fp32'],
  },
  {
    choice: 'tfjs-wasm',
    name: 'tfjs-wasm',
    describe: 'TensorFlow.js on WebAssembly, runs everywhere',
    precisions: ['fp32'],
  },
] as const satisfies readonly { choice: string; name: string; describe: string; precisions: readonly Precision[] }[];

/** Engine names as written into results. */
export type EngineName = (typeof ENGINES)[number]['name'];

/** `--engine` values: 'auto' (the fastest this host runs) or one engine's choice. */
export const ENGINE_CHOICES = ['auto', ...ENGINES.map((engine) => engine.choice)] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];

/** The engine an explicit choice names ('onnx' is the CPU provider, 'onnx-cpu'). */
export function engineNamed(choice: Exclude<EngineChoice, 'auto'>): EngineName {
  const engine = ENGINES.find((candidate) => candidate.choice === choice);
  if (engine === undefined) throw new RangeError(`unknown engine choice '${choice}'`);
  return engine.name;
}

/** Whether engine `name` runs models of `precision` (int8: the ONNX CPU engine only). */
export function runsPrecision(name: EngineName, precision: Precision): boolean {
  return ENGINES.some(
    (engine) => engine.name === name && (engine.precisions as readonly Precision[]).includes(precision),
  );
}

/** Images of one size laid out one after another: the `pixels` of a batch of `images.length`. */
export function stackImages(images: readonly Float32Array[]): Float32Array {
  const batch = new Float32Array(images.reduce((total, image) => total + image.length, 0));
  let offset = 0;
  for (const image of images) {
    batch.set(image, offset);
    offset += image.length;
  }
  return batch;
}

/**
 * The batch check every engine makes before running (the contract's rule on `pixels.length`):
 * ResnetBatchError BAD_BATCH naming what was expected and received.
 */
export function checkBatch(engine: { name: string }, pixels: Float32Array, count: number, inputSize: number): void {
  const expected = count * inputSize * inputSize * 3;
  if (!Number.isInteger(count) || count < 1 || pixels.length !== expected) {
    throw new ResnetBatchError(
      'BAD_BATCH',
      `engine ${engine.name}: a batch of ${count} images must hold ${expected} floats (${inputSize}x${inputSize}x3 each, at least one image); got ${pixels.length}`,
    );
  }
}
