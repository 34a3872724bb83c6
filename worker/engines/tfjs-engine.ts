import * as tf from '@tensorflow/tfjs';
import { describeError, EngineUnavailableError, ModelError, ResnetBatchError } from '../../shared/errors.ts';
import { type BatchOutput, checkBatch, type InferenceEngine } from '../../shared/inference/engine.ts';

/**
 * TensorFlow.js engine. One engine per process: tfjs keeps one global backend, so the backend is
 * chosen once, before the model's weights are allocated on it.
 *
 * Flavours, fastest first:
 * - tfjs-node-gpu: libtensorflow with CUDA through @tensorflow/tfjs-node-gpu (GPU hosts; needs the
 *   CUDA 11.2 / cuDNN 8.1 runtime; untested here: no GPU on the development machine).
 * - tfjs-node: libtensorflow on the CPU through @tensorflow/tfjs-node.
 * - tfjs-wasm: @tensorflow/tfjs-backend-wasm, XNNPACK kernels; installs from npm alone and runs
 *   everywhere, single-threaded under Node (about 3 img/s for ResNet-50 on 2 cores).
 * Both tfjs-node packages download libtensorflow in their install script, so they are optional
 * dependencies: `npm ci` succeeds without them, and asking for one that is missing is an error
 * that says how to install it.
 */
export type TfjsFlavour = 'tfjs-node-gpu' | 'tfjs-node' | 'tfjs-wasm';

const installHint: Record<TfjsFlavour, string> = {
  'tfjs-node-gpu':
    'install it on a CUDA 11.2 / cuDNN 8.1 host with `npm install @tensorflow/tfjs-node-gpu` (its install script downloads libtensorflow), or use --engine onnx or tfjs-wasm',
  'tfjs-node':
    'install it with `npm install @tensorflow/tfjs-node` (its install script downloads libtensorflow), or use --engine tfjs-wasm',
  'tfjs-wasm': 'reinstall the project with `npm ci`; @tensorflow/tfjs-backend-wasm is a regular dependency',
};

let activeFlavour: TfjsFlavour | undefined;

/** Imports the flavour's package and makes its backend the active one. Idempotent per flavour. */
export async function activateTfjsBackend(flavour: TfjsFlavour): Promise<void> {
  if (activeFlavour === flavour) return;
  if (activeFlavour !== undefined) {
    throw new EngineUnavailableError(
      `tfjs backend ${activeFlavour} is already active in this process (asked for ${flavour}); start one process per engine`,
    );
  }
  const packageName = flavour === 'tfjs-wasm' ? '@tensorflow/tfjs-backend-wasm' : `@tensorflow/${flavour}`;
  try {
    await import(packageName);
  } catch (error) {
    throw new EngineUnavailableError(
      `engine ${flavour} is not available: ${packageName} could not be loaded (${firstLine(error)}); ${installHint[flavour]}`,
      { cause: error },
    );
  }
  const backendName = flavour === 'tfjs-wasm' ? 'wasm' : 'tensorflow';
  const ready = await tf.setBackend(backendName).catch((error: unknown) => {
    throw new EngineUnavailableError(
      `engine ${flavour}: tfjs backend '${backendName}' failed to start (${firstLine(error)}); ${installHint[flavour]}`,
      { cause: error },
    );
  });
  if (!ready)
    throw new EngineUnavailableError(
      `engine ${flavour}: tfjs backend '${backendName}' did not initialise; ${installHint[flavour]}`,
    );
  await tf.ready();
  activeFlavour = flavour;
}

function firstLine(error: unknown): string {
  return describeError(error).split('\n')[0] ?? 'unknown error';
}

/**
 * Wraps a two-output ResNet LayersModel ([embedding, probabilities], see model/build-resnet.ts)
 * as an InferenceEngine. Every tensor of a batch is created and freed inside the call, so
 * tf.memory().numTensors is the same after any number of batches.
 */
export class TfjsEngine implements InferenceEngine {
  readonly name: TfjsFlavour;
  readonly embeddingSize: number;
  readonly classCount: number;
  readonly inputSize: number;
  private model: tf.LayersModel | undefined;

  constructor(flavour: TfjsFlavour, model: tf.LayersModel) {
    this.name = flavour;
    this.model = model;
    const [embeddingShape, probabilityShape] = model.outputs.map((output) => output.shape);
    this.embeddingSize = embeddingShape?.[1] ?? 0;
    this.classCount = probabilityShape?.[1] ?? 0;
    this.inputSize = model.inputs[0]?.shape[1] ?? 0;
    if (!this.embeddingSize || !this.classCount || !this.inputSize) {
      throw new ModelError(
        `the tfjs model must have one [N,S,S,3] input and two outputs [N,D] and [N,C]; got inputs ${JSON.stringify(model.inputs.map((i) => i.shape))} and outputs ${JSON.stringify(model.outputs.map((o) => o.shape))}`,
      );
    }
  }

  async infer(pixels: Float32Array, count: number): Promise<BatchOutput> {
    const model = this.model;
    if (!model) throw new ResnetBatchError('ENGINE_DISPOSED', `engine ${this.name} was disposed; create a new one`);
    checkBatch(this, pixels, count, this.inputSize);
    const [embeddings, probabilities] = tf.tidy(() => {
      const input = tf.tensor4d(pixels, [count, this.inputSize, this.inputSize, 3]);
      return model.predict(input, { batchSize: count }) as tf.Tensor[];
    });
    try {
      if (!embeddings || !probabilities) throw new ModelError('the model did not return [embedding, probabilities]');
      const [embeddingData, probabilityData] = await Promise.all([
        embeddings.data<'float32'>(),
        probabilities.data<'float32'>(),
      ]);
      return { embeddings: embeddingData, probabilities: probabilityData };
    } finally {
      embeddings?.dispose();
      probabilities?.dispose();
    }
  }

  async dispose(): Promise<void> {
    this.model?.dispose();
    this.model = undefined;
  }
}
