// The CPU engine's optimised-graph cache (worker/engines/onnx-session-cache.ts): saved on the
// first open, opened as is afterwards with the same outputs, and made again when damaged.
import assert from 'node:assert/strict';
import { copyFile, readdir, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as ort from 'onnxruntime-node';
import { resolveModelLocation } from '../../model/model-location.ts';
import { loadOnnxResNet } from '../../model/onnx/load-onnx-resnet.ts';
import { resnet50 } from '../../model/spec.ts';
import { openOptimizedCpuSession } from '../../worker/engines/onnx-session-cache.ts';
import { setUp } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';

const options: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: 1 };
const dir = useTempDir('resnet-batch-ort-cache-');
let graph: string;

setUp(async () => {
  const location = resolveModelLocation(undefined);
  const { modelPath } = await loadOnnxResNet(resnet50, location.read, { localDir: location.localDir });
  graph = join(dir.path, 'resnet50.onnx');
  await copyFile(modelPath, graph);
});

/** The embedding of a constant grey image. */
async function embed(session: ort.InferenceSession): Promise<Float32Array> {
  const input = new ort.Tensor('float32', new Float32Array(224 * 224 * 3).fill(0.5), [1, 224, 224, 3]);
  const outputs = await session.run({ input });
  await session.release();
  return outputs.embedding!.data as Float32Array;
}

/** The largest absolute difference between two embeddings. */
function largestDifference(a: Float32Array, b: Float32Array): number {
  return a.reduce((max, value, index) => Math.max(max, Math.abs(value - b[index]!)), 0);
}

const optimizedFiles = async () => (await readdir(dir.path)).filter((name) => /\.ort-[0-9a-f]{16}\.ort$/.test(name));

describe('the optimised graph cache of the CPU engine', () => {
  let first: Float32Array;

  test('the first open saves the optimised graph next to the graph, and nothing else', async () => {
    first = await embed(await openOptimizedCpuSession(ort, graph, options));
    assert.equal((await optimizedFiles()).length, 1);
    assert.deepEqual((await readdir(dir.path)).length, 2, 'no temporary file left');
  });

  test('a later open uses it and gives the same embedding', async () => {
    const again = await embed(await openOptimizedCpuSession(ort, graph, options));
    const worst = largestDifference(again, first);
    assert.ok(worst < 1e-4, `largest difference ${worst}`);
  });

  test('the saved graph gives the embedding of the graph itself, opened without the cache', async () => {
    const plain = await embed(await ort.InferenceSession.create(graph, options));
    const worst = largestDifference(plain, first);
    assert.ok(worst < 1e-4, `largest difference ${worst}`);
  });

  test('a session opened from the saved bytes keeps them: it still runs after garbage collection', async () => {
    // ONNX Runtime reads the weights from the buffer it was given, without copying them.
    const session = await openOptimizedCpuSession(ort, graph, options);
    setFlagsFromString('--expose-gc');
    const collectGarbage = runInNewContext('gc') as () => void;
    for (let round = 0; round < 3; round += 1) {
      collectGarbage();
      await new Promise((resolve) => setImmediate(resolve));
      Buffer.alloc(64 * 1024 * 1024, 0xff); // reuse whatever was freed
    }
    const again = await embed(session);
    const worst = largestDifference(again, first);
    assert.ok(worst < 1e-4, `largest difference ${worst}`);
  });

  test('a damaged optimised graph is made again', async () => {
    const [name] = await optimizedFiles();
    await truncate(join(dir.path, name!), 1000);
    const again = await embed(await openOptimizedCpuSession(ort, graph, options));
    assert.equal(again.length, first.length);
    assert.deepEqual(await optimizedFiles(), [name]);
    assert.ok((await stat(join(dir.path, name!))).size > 1_000_000, 'written again in full');
  });
});
