import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// Apart from onnx-engine.ts so that `--engine auto` can ask whether the CUDA provider is there
// without loading onnxruntime-node (open-engine.ts loads each engine only once it is chosen).

const require = createRequire(import.meta.url);

export const CUDA_INSTALL_HINT =
  'on a GPU host with CUDA 12 and cuDNN 9, install the CUDA provider with `node node_modules/onnxruntime-node/script/install.js --onnxruntime-node-install=cuda12`, or use --engine onnx for the CPU';

/** Whether onnxruntime-node's CUDA provider library is installed next to its binding (see onnx-engine.ts OnnxFlavour). */
export function onnxCudaProviderInstalled(): boolean {
  try {
    const packageRoot = dirname(require.resolve('onnxruntime-node/package.json'));
    return existsSync(
      join(packageRoot, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'),
    );
  } catch {
    return false;
  }
}
