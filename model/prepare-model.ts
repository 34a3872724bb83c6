/**
 * CLI: generates, ahead of time, what a worker would otherwise generate on its first start, into
 * the cache root ($RESNET_BATCH_CACHE, model-cache.ts). The images of infra/ run it at build time,
 * so that their non-root workers find everything in a cache they may read but not write, and
 * start without generating anything:
 *
 *   npm run fetch-model && npm run prepare-model
 *
 * Each entry of PREPARED reuses what the cache already holds (its digest is checked) and
 * generates the rest. Exit code 0 on success, 1 with a message saying what to do.
 *
 * Each entry prepares through onnx/prepare-onnx-model.ts, the path a worker's engine takes too.
 * HOOK for more generated models (issue 13's int8 graph): add one entry that prepares it under
 * `root`, the same cache root, next to the fp32 graph (an int8 build needs the worker's decoder,
 * worker/decode-image.ts). Whatever is not prepared here is generated at first use into
 * $RESNET_BATCH_RUNTIME_CACHE, which the images keep writable.
 */
import { describeError } from '../shared/errors.ts';
import { cacheRoot } from './model-cache.ts';
import { resolveModelLocation } from './model-location.ts';
import { prepareOnnxModel } from './onnx/prepare-onnx-model.ts';
import type { ReadModelFile } from './read-model-file.ts';
import { resnet50 } from './spec.ts';

interface PreparedModel {
  /** What it is, for the log line. */
  name: string;
  /** Makes sure it is cached under `root`; resolves with its path and whether it was generated now. */
  prepare(read: ReadModelFile, root: string): Promise<{ path: string; generated: boolean }>;
}

const PREPARED: readonly PreparedModel[] = [
  {
    name: 'ResNet-50 fp32 ONNX graph',
    prepare: async (read, root) => {
      const loaded = await prepareOnnxModel(resnet50, read, { precision: 'fp32', cacheRoot: root });
      return { path: loaded.modelPath, generated: loaded.generated };
    },
  },
];

async function main(): Promise<void> {
  const root = cacheRoot();
  const { read } = resolveModelLocation(undefined); // the weights fetch-model put in the same root
  for (const model of PREPARED) {
    const { path, generated } = await model.prepare(read, root);
    console.error(`resnet-batch: ${model.name} ${generated ? 'generated' : 'already cached'}: ${path}`);
  }
}

main().catch((error: unknown) => {
  console.error(`resnet-batch: could not prepare the model: ${describeError(error)}`);
  process.exitCode = 1;
});
