// A warm start of the ONNX engine reads model.json and the labels, not the 100 MB of weights nor
// the 100 MB graph (issue 12: start-up under 2 s), and identifies the model exactly as a cold one.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ARTIFACT_MODEL_ID, ARTIFACT_WEIGHTS_SHA256 } from '../../model/artifact.ts';
import { resolveModelLocation } from '../../model/model-location.ts';
import { loadOnnxResNet } from '../../model/onnx/load-onnx-resnet.ts';
import type { ReadModelFile } from '../../model/read-model-file.ts';
import { resnet50 } from '../../model/spec.ts';

/** The default model location, with every file read recorded. */
function countingLocation(): { read: ReadModelFile; localDir?: string; reads: string[] } {
  const location = resolveModelLocation(undefined);
  const reads: string[] = [];
  return {
    localDir: location.localDir,
    reads,
    read: (path) => {
      reads.push(path);
      return location.read(path);
    },
  };
}

describe('the ONNX model on a warm start', () => {
  test('reads only model.json and the labels, and gives the published model id and digest', async () => {
    // The first open may hash the weights (or even generate the graph, on a fresh cache).
    const first = countingLocation();
    await loadOnnxResNet(resnet50, first.read, { localDir: first.localDir });
    const second = countingLocation();
    const loaded = await loadOnnxResNet(resnet50, second.read, { localDir: second.localDir });
    assert.deepEqual([...new Set(second.reads)].sort(), ['ResNet50/model.json', 'assets/labels.json']);
    assert.equal(loaded.generated, false);
    assert.equal(loaded.weightsSha256, ARTIFACT_WEIGHTS_SHA256);
    assert.equal(loaded.modelId, ARTIFACT_MODEL_ID);
    assert.equal(loaded.labels[285], 'Egyptian_cat');
  });

  test('without a local folder (a remote model) reads and hashes every shard', async () => {
    const location = countingLocation();
    const loaded = await loadOnnxResNet(resnet50, location.read);
    assert.ok(location.reads.filter((path) => path.endsWith('.bin')).length > 1, location.reads.join(', '));
    assert.equal(loaded.weightsSha256, ARTIFACT_WEIGHTS_SHA256);
  });
});
