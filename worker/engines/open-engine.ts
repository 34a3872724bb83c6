import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { EngineChoice, InferenceEngine } from '../../shared/engine.ts';
import { EngineUnavailableError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { loadResNet } from '../../shared/model/load-resnet.ts';
import { resolveModelLocation } from '../../shared/model/model-location.ts';
import { readModelFileFromStore } from '../../shared/model/remote-model-cache.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { resnet50 } from '../../shared/model/spec.ts';
import { DEFAULT_MODEL_REF, resolveModelUri } from '../../shared/model/model-uri.ts';
import { TfjsEngine, activateTfjsBackend, type TfjsFlavour } from './tfjs-engine.ts';

/** What a worker knows about the model it loaded: written into every row and the manifest. */
export interface LoadedModelInfo {
  /** The model reference (shared/model/model-uri.ts) shards are compared with. */
  uri: string;
  id: string;
  weightsSha256: string;
  labels: string[];
}

export interface OpenEngineOptions {
  choice: EngineChoice;
  /** Model reference (shared/model/model-uri.ts): 'default' or a URI. */
  modelRef: string;
  logger?: Logger;
}

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
 * `--engine auto`: the fastest engine this host can run, with the reason, in this order:
 * tfjs-node-gpu (package installed and a GPU visible), tfjs-node (installed), tfjs-wasm (always).
 */
export function pickEngine(): { flavour: TfjsFlavour; reason: string } {
  if (isInstalled('@tensorflow/tfjs-node-gpu') && gpuVisible()) return { flavour: 'tfjs-node-gpu', reason: '@tensorflow/tfjs-node-gpu is installed and a GPU is visible' };
  if (isInstalled('@tensorflow/tfjs-node')) return { flavour: 'tfjs-node', reason: '@tensorflow/tfjs-node is installed (libtensorflow on the CPU)' };
  return { flavour: 'tfjs-wasm', reason: 'no libtensorflow package is installed; the wasm backend runs everywhere' };
}

/** Chooses and starts the engine, then loads the model onto it. */
export async function openEngine(options: OpenEngineOptions): Promise<{ engine: InferenceEngine; model: LoadedModelInfo }> {
  const picked = options.choice === 'auto' ? pickEngine() : { flavour: options.choice, reason: 'asked for with --engine' };
  options.logger?.info({ engine: picked.flavour, reason: picked.reason }, 'engine chosen');
  if (options.choice !== 'auto' && options.choice !== 'tfjs-wasm' && !isInstalled(`@tensorflow/${options.choice}`)) {
    throw new EngineUnavailableError(
      `engine ${options.choice} is not installed; install it with \`npm install @tensorflow/${options.choice}\` (its install script downloads libtensorflow${options.choice === 'tfjs-node-gpu' ? ' and needs CUDA 11.2 / cuDNN 8.1' : ''}), or use --engine tfjs-wasm`,
    );
  }
  await activateTfjsBackend(picked.flavour);
  const location = resolveModelLocation(options.modelRef === DEFAULT_MODEL_REF ? undefined : options.modelRef, {
    readers: { 's3:': (uri) => readModelFileFromStore(uri, openStore(uri)) },
  });
  const loaded = await loadResNet(resnet50, location.read);
  options.logger?.info({ model: loaded.modelId, from: location.uri }, 'model loaded');
  return {
    engine: new TfjsEngine(picked.flavour, loaded.model),
    model: { uri: options.modelRef, id: loaded.modelId, weightsSha256: loaded.weightsSha256, labels: loaded.labels },
  };
}
