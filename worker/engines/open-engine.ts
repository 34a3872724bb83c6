import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { locateModel, type ModelLocation } from '../../model/model-location.ts';
import type { LoadedOnnxResNet } from '../../model/onnx/load-onnx-resnet.ts';
import { resnet50 } from '../../model/spec.ts';
import { ConfigError, EngineUnavailableError } from '../../shared/errors.ts';
import {
  ENGINES,
  type EngineChoice,
  type EngineName,
  engineNamed,
  type InferenceEngine,
  runsPrecision,
} from '../../shared/inference/engine.ts';
import { type ModelRef, recordedModelRef } from '../../shared/inference/model-ref.ts';
import { DEFAULT_PRECISION, type Precision } from '../../shared/inference/precision.ts';
import type { Logger } from '../../shared/observability/logger.ts';
import { NullEngine, nullLabels } from './null-engine.ts';
import { onnxCudaProviderInstalled } from './onnx-cuda-provider.ts';
import type { OnnxFlavour } from './onnx-engine.ts';
import type { TfjsFlavour } from './tfjs-engine.ts';

/** What a worker knows about the model it loaded: written into every row and the manifest. */
export interface LoadedModelInfo {
  /** The model reference as recorded (shared/inference/model-ref.ts): shards are compared with it. */
  uri: string;
  /** The precision it runs at; shards of another precision are refused like shards of another model. */
  precision: Precision;
  id: string;
  weightsSha256: string;
  labels: string[];
}

/**
 * The null engine (worker/engines/null-engine.ts): zeros without a model, the ceiling of the
 * pipeline around the engine. For benchmarks and tests only, so it is not an EngineChoice: the
 * CLI does not offer it, `auto` never picks it, and only code that names it (bench/, test/) gets it.
 */
export const NULL_ENGINE_CHOICE = 'null';

export interface OpenEngineOptions {
  choice: EngineChoice | typeof NULL_ENGINE_CHOICE;
  /** The packaged artifact or the weights at a URI (shared/inference/model-ref.ts). */
  modelRef: ModelRef;
  /** Default fp32. int8 runs on the ONNX CPU engine only; `auto` then picks it. */
  precision?: Precision;
  logger?: Logger;
  /** ONNX engines only: threads per inference (OnnxEngineOptions.intraOpNumThreads). Default: every core. */
  intraOpNumThreads?: number;
  /** Lines about a long first-use build (the int8 graph); default the logger. Not passed to an engine thread. */
  onProgress?: (message: string) => void;
}

type Opened = { engine: InferenceEngine; model: LoadedModelInfo };

const require = createRequire(import.meta.url);

function isInstalled(packageName: string): boolean {
  try {
    require.resolve(packageName);
    return true;
  } catch {
    return false;
  }
}

/** A GPU is visible when the NVIDIA driver exposes a device node (containers get it through the NVIDIA runtime). */
function gpuVisible(): boolean {
  return existsSync('/dev/nvidia0') || existsSync('/dev/nvidiactl');
}

/**
 * Whether this host can run each engine, and why: `--engine auto` takes the first engine of
 * shared/inference/engine.ts ENGINES (fastest first) whose check passes. tfjs-wasm always can.
 */
const AVAILABILITY: Record<EngineName, (gpu: boolean) => string | null> = {
  'tfjs-node-gpu': (gpu) =>
    isInstalled('@tensorflow/tfjs-node-gpu') && gpu
      ? '@tensorflow/tfjs-node-gpu is installed and a GPU is visible'
      : null,
  'onnx-cuda': (gpu) =>
    onnxCudaProviderInstalled() && gpu ? "onnxruntime-node's CUDA provider is installed and a GPU is visible" : null,
  'onnx-cpu': (gpu) =>
    isInstalled('onnxruntime-node')
      ? `onnxruntime-node is installed (CPU provider)${gpu ? '; a GPU is visible but no GPU engine is installed' : ''}`
      : null,
  'tfjs-node': () =>
    isInstalled('@tensorflow/tfjs-node') ? '@tensorflow/tfjs-node is installed (libtensorflow on the CPU)' : null,
  'tfjs-wasm': () =>
    'neither onnxruntime-node nor a libtensorflow package is installed; the wasm backend runs everywhere',
};

/** `--engine auto`: the fastest engine this host can run at `precision`, with the reason. */
export function pickEngine(precision: Precision = DEFAULT_PRECISION): { flavour: EngineName; reason: string } {
  const gpu = gpuVisible();
  for (const engine of ENGINES) {
    if (!runsPrecision(engine.name, precision)) continue;
    const reason = AVAILABILITY[engine.name](gpu);
    if (reason !== null)
      return { flavour: engine.name, reason: precision === 'fp32' ? reason : `${reason}; ${precision}` };
  }
  if (precision !== 'fp32') {
    throw new EngineUnavailableError(
      `no engine on this host runs ${precision} models: it needs onnxruntime-node (the onnx engine); reinstall with npm ci, or use --precision fp32`,
    );
  }
  return { flavour: 'tfjs-wasm', reason: AVAILABILITY['tfjs-wasm'](gpu) ?? '' };
}

/** The engine an explicit or `auto` choice means at `precision`; ConfigError for an engine that cannot run it. */
function chooseEngine(choice: EngineChoice, precision: Precision): { flavour: EngineName; reason: string } {
  if (choice === 'auto') return pickEngine(precision);
  const flavour = engineNamed(choice);
  if (!runsPrecision(flavour, precision)) {
    const able = ENGINES.filter((engine) => runsPrecision(engine.name, precision)).map((engine) => engine.choice);
    throw new ConfigError(
      `engine ${choice} does not run ${precision} models (got --engine ${choice} --precision ${precision}); use --engine ${able.join(' or ')} or auto, or --precision fp32`,
    );
  }
  return { flavour, reason: 'asked for with --engine' };
}

/**
 * Chooses and starts the engine, then loads the model onto it. Each engine's code (and its
 * runtime: TensorFlow.js, ONNX Runtime) is imported only once it is chosen: TensorFlow.js alone
 * takes about a second to load and prints a banner, which the ONNX engines must not pay for.
 */
export async function openEngine(options: OpenEngineOptions): Promise<Opened> {
  if (options.choice === NULL_ENGINE_CHOICE) return openNull(options);
  const precision = options.precision ?? DEFAULT_PRECISION;
  const picked = chooseEngine(options.choice, precision);
  options.logger?.info({ engine: picked.flavour, reason: picked.reason, precision }, 'engine chosen');
  const location = locateModel(options.modelRef);
  const opened =
    picked.flavour === 'onnx-cpu' || picked.flavour === 'onnx-cuda'
      ? await openOnnx(picked.flavour, location, options)
      : await openTfjs(picked.flavour, location, options);
  options.logger?.info({ model: opened.model.id, from: location.uri }, 'model loaded');
  return opened;
}

/** No weights are read: the model identity says so, and the labels are placeholders. */
function openNull(options: OpenEngineOptions): Opened {
  options.logger?.warn(
    { engine: NULL_ENGINE_CHOICE },
    'null engine: zeros without a model, for benchmarks and tests only',
  );
  return {
    engine: new NullEngine(),
    model: {
      uri: recordedModelRef(options.modelRef),
      precision: options.precision ?? DEFAULT_PRECISION,
      id: 'null-engine',
      weightsSha256: 'none',
      labels: nullLabels(),
    },
  };
}

async function openTfjs(flavour: TfjsFlavour, location: ModelLocation, options: OpenEngineOptions): Promise<Opened> {
  if (flavour !== 'tfjs-wasm' && !isInstalled(`@tensorflow/${flavour}`)) {
    throw new EngineUnavailableError(
      `engine ${flavour} is not installed; install it with \`npm install @tensorflow/${flavour}\` (its install script downloads libtensorflow${flavour === 'tfjs-node-gpu' ? ' and needs CUDA 11.2 / cuDNN 8.1' : ''}), or use --engine onnx or tfjs-wasm`,
    );
  }
  const [{ activateTfjsBackend, TfjsEngine }, { loadResNet }] = await Promise.all([
    import('./tfjs-engine.ts'),
    import('../../model/load-resnet.ts'),
  ]);
  await activateTfjsBackend(flavour);
  const loaded = await loadResNet(resnet50, location.read);
  return {
    engine: new TfjsEngine(flavour, loaded.model),
    model: {
      uri: recordedModelRef(options.modelRef),
      precision: 'fp32',
      id: loaded.modelId,
      weightsSha256: loaded.weightsSha256,
      labels: loaded.labels,
    },
  };
}

/** Makes the model ready for ONNX (model/onnx/prepare-onnx-model.ts) and opens a session on its graph. */
async function openOnnx(flavour: OnnxFlavour, location: ModelLocation, options: OpenEngineOptions): Promise<Opened> {
  const precision = options.precision ?? DEFAULT_PRECISION;
  const [{ OnnxEngine }, loaded] = await Promise.all([
    import('./onnx-engine.ts'),
    prepareOnnx(location, precision, (message) => {
      if (options.onProgress) options.onProgress(message);
      else options.logger?.info(message);
    }),
  ]);
  options.logger?.info(
    { path: loaded.modelPath, sha256: loaded.onnxSha256, generated: loaded.generated, precision },
    loaded.generated ? 'ONNX graph generated and cached' : 'ONNX graph reused from the cache',
  );
  const engine = await OnnxEngine.open(flavour, loaded.modelPath, loaded.spec, {
    intraOpNumThreads: options.intraOpNumThreads,
  });
  return {
    engine,
    model: {
      uri: recordedModelRef(options.modelRef),
      precision,
      id: loaded.modelId,
      weightsSha256: loaded.weightsSha256,
      labels: loaded.labels,
    },
  };
}

/**
 * Builds what a model needs on this host before any engine opens it: the int8 graph on first use
 * (20-30 s on 2 cores, with `onProgress` lines). `run` calls it once before starting its workers, so that N
 * local workers do not each build the same graph at once, and the person at the terminal sees the
 * progress. Nothing to do for fp32 here: its graph takes seconds and is generated on open.
 */
export async function prepareModel(options: {
  modelRef: ModelRef;
  precision: Precision;
  onProgress: (message: string) => void;
}): Promise<void> {
  if (options.precision !== 'int8') return;
  await prepareOnnx(locateModel(options.modelRef), options.precision, options.onProgress);
}

/**
 * The model's ONNX graph at `precision`, found or generated (model/onnx/prepare-onnx-model.ts),
 * with the worker's decoder for an int8 build: calibration sees exactly what inference will. The
 * decoder (sharp) and the loaders are imported only here, so an fp32 engine thread loads no decoder.
 */
async function prepareOnnx(
  location: ModelLocation,
  precision: Precision,
  onProgress: (message: string) => void,
): Promise<LoadedOnnxResNet> {
  const preparing = import('../../model/onnx/prepare-onnx-model.ts');
  const graphOptions = { localDir: location.localDir };
  if (precision === 'fp32') {
    const { prepareOnnxModel } = await preparing;
    return prepareOnnxModel(resnet50, location.read, { ...graphOptions, precision });
  }
  const [{ prepareOnnxModel }, { decodeImage }] = await Promise.all([preparing, import('../decode-image.ts')]);
  return prepareOnnxModel(resnet50, location.read, {
    ...graphOptions,
    precision,
    decode: async (bytes) => (await decodeImage(bytes)).pixels,
    onProgress,
  });
}
