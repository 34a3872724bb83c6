// The ONNX CPU engine running the int8 graph: `--engine auto` at int8 picks it, and it passes the
// same engine contract suite as every engine (real ResNet-50, real photos). The int8 graph comes
// from the cache (test/model/model-int8-graph.test.ts builds it first; alone, this file builds it).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PACKAGED_MODEL } from '../../shared/inference/model-ref.ts';
import { openEngine, pickEngine } from '../../worker/engines/open-engine.ts';
import { engineContract } from './engine-contract.ts';

describe('engine choice at int8', () => {
  test('auto picks the ONNX CPU engine, the one that runs int8', () => {
    assert.equal(pickEngine('int8').flavour, 'onnx-cpu');
  });
});

engineContract('onnx-cpu int8', async () => {
  const { engine, model } = await openEngine({ choice: 'auto', modelRef: PACKAGED_MODEL, precision: 'int8' });
  assert.equal(model.precision, 'int8');
  return { engine, labels: model.labels };
});
