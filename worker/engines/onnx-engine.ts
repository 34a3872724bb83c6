import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { ONNX_NAMES } from '../../model/onnx/build-onnx-resnet.ts';
import type { ResNetSpec } from '../../model/spec.ts';
import { describeError, EngineUnavailableError, ModelError, ResnetBatchError } from '../../shared/errors.ts';
import { type BatchOutput, checkBatch, type InferenceEngine } from '../../shared/inference/engine.ts';
import { CUDA_INSTALL_HINT, onnxCudaProviderInstalled } from './onnx-cuda-provider.ts';
import { openOptimizedCpuSession } from './onnx-session-cache.ts';

/**
 * ONNX Runtime engine (onnxruntime-node) running the graph that model/onnx/ generates from
 * the spec and the Keras weights (BatchNorm folded). About 10x the tfjs-wasm engine on the CPU.
 *
 * Flavours:
 * - onnx-cpu: the CPU execution provider, bundled in the npm package: `npm ci` is enough.
 * - onnx-cuda: the CUDA execution provider, falling back to the CPU for any op CUDA lacks. Its
 *   binaries (libonnxruntime_providers_cuda.so, ~400 MB) are NOT in the npm package, and the
 *   package's install script that fetches them is denied in package.json allowScripts (it
 *   downloads from outside the npm registry). On a GPU host with CUDA 12 and cuDNN 9 installed:
 *     node node_modules/onnxruntime-node/script/install.js --onnxruntime-node-install=cuda12
 *   (the script fetches them from nuget.org).
 *   Untested here: the development machine has no GPU.
 */
export type OnnxFlavour = 'onnx-cpu' | 'onnx-cuda';

export interface OnnxEngineOptions {
  /**
   * Threads one inference uses (ONNX Runtime's intra-op pool). Default: availableParallelism(),
   * every core, since the engine is the bottleneck of a worker. Lower it when other work of the
   * same process must keep a core (decoding with sharp) or when several workers share a host.
   */
  intraOpNumThreads?: number;
}

export { onnxCudaProviderInstalled };

export class OnnxEngine implements InferenceEngine {
  readonly embeddingSize: number;
  readonly classCount: number;
  readonly inputSize: number;

  private constructor(
    readonly name: OnnxFlavour,
    private session: ort.InferenceSession | undefined,
    spec: ResNetSpec,
  ) {
    this.embeddingSize = spec.embeddingSize;
    this.classCount = spec.classCount;
    this.inputSize = spec.inputSize;
  }

  /** Opens a session on the .onnx file at `modelPath`, generated for `spec`. */
  static async open(
    flavour: OnnxFlavour,
    modelPath: string,
    spec: ResNetSpec,
    options: OnnxEngineOptions = {},
  ): Promise<OnnxEngine> {
    if (flavour === 'onnx-cuda' && !onnxCudaProviderInstalled()) {
      throw new EngineUnavailableError(
        `engine onnx-cuda is not available: onnxruntime-node's CUDA provider is not installed; ${CUDA_INSTALL_HINT}`,
      );
    }
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: flavour === 'onnx-cuda' ? ['cuda', 'cpu'] : ['cpu'],
      intraOpNumThreads: options.intraOpNumThreads ?? availableParallelism(),
      // One model, one chain of ops: parallelism comes from inside each op.
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    };
    try {
      const session =
        flavour === 'onnx-cpu'
          ? await openOptimizedCpuSession(ort, modelPath, sessionOptions)
          : await ort.InferenceSession.create(modelPath, sessionOptions);
      return new OnnxEngine(flavour, session, spec);
    } catch (error) {
      const hint =
        flavour === 'onnx-cuda' ? CUDA_INSTALL_HINT : `delete ${modelPath} to regenerate it, or use --engine tfjs-wasm`;
      throw new EngineUnavailableError(
        `engine ${flavour}: ONNX Runtime could not open ${modelPath} (${describeError(error).split('\n')[0]}); ${hint}`,
        { cause: error },
      );
    }
  }

  async infer(pixels: Float32Array, count: number): Promise<BatchOutput> {
    const session = this.session;
    if (!session) throw new ResnetBatchError('ENGINE_DISPOSED', `engine ${this.name} was disposed; create a new one`);
    checkBatch(this, pixels, count, this.inputSize);
    const input = new ort.Tensor('float32', pixels, [count, this.inputSize, this.inputSize, 3]);
    const outputs = await session.run({ [ONNX_NAMES.input]: input });
    const embedding = outputs[ONNX_NAMES.embedding];
    const probabilities = outputs[ONNX_NAMES.probabilities];
    if (!embedding || !probabilities)
      throw new ModelError(`the ONNX model did not return '${ONNX_NAMES.embedding}' and '${ONNX_NAMES.probabilities}'`);
    return { embeddings: embedding.data as Float32Array, probabilities: probabilities.data as Float32Array };
  }

  async dispose(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.release();
  }
}
