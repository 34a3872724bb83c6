import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResnetBatchError } from '../../shared/errors.ts';
import { openEngineInThread } from '../../worker/engines/threaded-engine.ts';

const imageFloats = 224 * 224 * 3;

test('an engine on its own thread answers with the outputs of the engine it opened there', async () => {
  const { engine, model } = await openEngineInThread({
    choice: 'null',
    modelRef: { kind: 'uri', uri: 'file:///nowhere/model' },
  });
  try {
    assert.equal(engine.name, 'null');
    assert.equal(engine.embeddingSize, 2048);
    assert.equal(model.labels.length, 1000);
    const pixels = new Float32Array(2 * imageFloats);
    const output = await engine.infer(pixels, 2);
    assert.equal(output.embeddings.length, 2 * 2048);
    assert.equal(pixels.length, 2 * imageFloats, 'the caller keeps its pixels');
  } finally {
    await engine.dispose();
  }
});

test("an engine thread's error comes back as a ResnetBatchError with the same code", async () => {
  const { engine } = await openEngineInThread({
    choice: 'null',
    modelRef: { kind: 'uri', uri: 'file:///nowhere/model' },
  });
  try {
    await assert.rejects(
      engine.infer(new Float32Array(imageFloats), 2),
      (error: unknown) => error instanceof ResnetBatchError && error.code === 'BAD_BATCH',
    );
  } finally {
    await engine.dispose();
  }
});
