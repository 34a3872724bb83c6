import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResnetBatchError } from '../../shared/errors.ts';
import { NullEngine } from '../../worker/engines/null-engine.ts';
import { NULL_ENGINE_CHOICE, openEngine, pickEngine } from '../../worker/engines/open-engine.ts';

const imageFloats = 224 * 224 * 3;

test('the null engine returns zero embeddings and probabilities of the right sizes', async () => {
  const engine = new NullEngine();
  const output = await engine.infer(new Float32Array(3 * imageFloats), 3);
  assert.equal(output.embeddings.length, 3 * 2048);
  assert.equal(output.probabilities.length, 3 * 1000);
  assert.ok(output.embeddings.every((value) => value === 0));
  assert.ok(output.probabilities.every((value) => value === 0));
});

test('the null engine refuses a batch whose length does not match its count', async () => {
  await assert.rejects(
    new NullEngine().infer(new Float32Array(imageFloats), 2),
    (error: unknown) => error instanceof ResnetBatchError && error.code === 'BAD_BATCH',
  );
});

test('openEngine opens the null engine without reading a model, under the engine name null', async () => {
  const { engine, model } = await openEngine({
    choice: NULL_ENGINE_CHOICE,
    modelRef: { kind: 'uri', uri: 'file:///nowhere/model' },
  });
  assert.equal(engine.name, 'null');
  assert.equal(model.id, 'null-engine');
  assert.equal(model.labels.length, 1000);
});

test('auto never picks the null engine', () => {
  assert.notEqual(pickEngine().flavour, 'null');
});
