/**
 * The inference engine contract.
 *
 * An engine owns: loading one model (spec + weights) into a runtime, running a batch of
 * preprocessed images through it, and releasing what it holds. It does not own storage, fetching,
 * decoding or writing results: it receives ready tensors as plain Float32Arrays and returns plain
 * arrays, so that a new runtime is one new file in worker/engines/ that passes
 * the contract suite in test/worker/engine-contract.ts.
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

/** Engine names as written into results; 'onnx-cpu' / 'onnx-cuda' are ONNX Runtime with that execution provider. */
export type EngineName = 'tfjs-node-gpu' | 'onnx-cuda' | 'onnx-cpu' | 'tfjs-node' | 'tfjs-wasm';
/**
 * `--engine` values, fastest first ('auto' picks the first one this host runs, see
 * worker/engines/open-engine.ts). 'onnx' is ONNX Runtime on the CPU (engine name 'onnx-cpu').
 */
export const ENGINE_CHOICES = ['auto', 'tfjs-node-gpu', 'onnx-cuda', 'onnx', 'tfjs-node', 'tfjs-wasm'] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];
