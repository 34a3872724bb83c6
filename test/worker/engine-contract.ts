// The InferenceEngine contract (shared/inference/engine.ts) as a reusable suite: every engine file in
// worker/engines/ gets one call of engineContract() in its own test file, so a new runtime
// (ONNX Runtime) is checked against exactly what the tfjs engine is checked against. It runs the
// real ResNet-50 on real photos; an engine is opened once for the whole suite, and the last test
// disposes it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PREPROCESS } from '../../model/preprocess-spec.ts';
import { ResnetBatchError } from '../../shared/errors.ts';
import type { BatchOutput, InferenceEngine } from '../../shared/inference/engine.ts';
import { decodeImage } from '../../worker/decode-image.ts';
import { rankLabels } from '../../worker/rank-labels.ts';
import { readFixture } from '../harness/fixtures.ts';

export interface OpenedEngine {
  engine: InferenceEngine;
  /** The model's class labels, index = class (ImageNet: 'Egyptian_cat', 'espresso', ...). */
  labels: readonly string[];
}

const PIXELS_PER_IMAGE = PREPROCESS.cropSize * PREPROCESS.cropSize * 3;
const CAT_CLASSES = ['Egyptian_cat', 'tabby', 'tiger_cat'];
/** Softmax rows are computed in float32: 1000 terms each rounded to ~6e-8 relative. */
const SUM_TOLERANCE = 1e-4;
/** Batch position must not change an image's output beyond float32 summation-order noise. */
const POSITION_TOLERANCE = 1e-5;

async function decodeFixture(name: string): Promise<Float32Array> {
  return (await decodeImage(await readFixture(name))).pixels;
}

function batchOf(images: Float32Array[]): Float32Array {
  const batch = new Float32Array(images.length * PIXELS_PER_IMAGE);
  images.forEach((image, index) => {
    batch.set(image, index * PIXELS_PER_IMAGE);
  });
  return batch;
}

function row(values: Float32Array, index: number, width: number): Float32Array {
  return values.subarray(index * width, (index + 1) * width);
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i += 1) worst = Math.max(worst, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return worst;
}

/** Runs the contract suite on the engine `open` returns (called once, in a before hook). */
export function engineContract(name: string, open: () => Promise<OpenedEngine>): void {
  describe(`InferenceEngine contract: ${name}`, () => {
    let engine: InferenceEngine;
    let labels: readonly string[];
    let chelsea: Float32Array;
    let coffee: Float32Array;
    /** [chelsea, coffee] in one batch, shared by the tests that only read its output. */
    let pair: BatchOutput;

    const top1 = (output: BatchOutput, index: number): string =>
      rankLabels(output.probabilities, index, engine.classCount, labels, 1)[0]?.label ?? '';

    before(async () => {
      ({ engine, labels } = await open());
      [chelsea, coffee] = await Promise.all([decodeFixture('chelsea.png'), decodeFixture('coffee.png')]);
      pair = await engine.infer(batchOf([chelsea, coffee]), 2);
    });

    after(async () => {
      await engine?.dispose();
    });

    test('the engine reports a 2048-wide embedding and 1000 classes for ResNet-50', () => {
      assert.equal(engine.embeddingSize, 2048);
      assert.equal(engine.classCount, 1000);
      assert.equal(labels.length, engine.classCount);
    });

    test('a batch returns count * embeddingSize embedding floats and count * classCount probabilities', () => {
      assert.ok(pair.embeddings instanceof Float32Array);
      assert.ok(pair.probabilities instanceof Float32Array);
      assert.equal(pair.embeddings.length, 2 * engine.embeddingSize);
      assert.equal(pair.probabilities.length, 2 * engine.classCount);
    });

    test('each probability row is a distribution that sums to 1', () => {
      for (let index = 0; index < 2; index += 1) {
        const probabilities = row(pair.probabilities, index, engine.classCount);
        assert.ok(
          probabilities.every((p) => p >= 0 && p <= 1),
          `row ${index} has a value outside [0, 1]`,
        );
        const sum = probabilities.reduce((total, p) => total + p, 0);
        assert.ok(Math.abs(sum - 1) < SUM_TOLERANCE, `row ${index} sums to ${sum}`);
      }
    });

    test('chelsea.png gets a cat class as its top-1 label', () => {
      assert.ok(CAT_CLASSES.includes(top1(pair, 0)), `top-1 was ${top1(pair, 0)}`);
    });

    test('coffee.png gets espresso as its top-1 label', () => {
      assert.equal(top1(pair, 1), 'espresso');
    });

    test('the same image gets the same embedding and probabilities alone and at another position of a batch', async () => {
      const alone = await engine.infer(chelsea, 1);
      const middle = await engine.infer(batchOf([coffee, chelsea, coffee]), 3);
      assert.ok(
        maxAbsDifference(alone.embeddings, row(middle.embeddings, 1, engine.embeddingSize)) < POSITION_TOLERANCE,
      );
      assert.ok(
        maxAbsDifference(alone.probabilities, row(middle.probabilities, 1, engine.classCount)) < POSITION_TOLERANCE,
      );
      const first = row(middle.embeddings, 0, engine.embeddingSize);
      assert.ok(maxAbsDifference(first, row(middle.embeddings, 2, engine.embeddingSize)) < POSITION_TOLERANCE);
      assert.ok(maxAbsDifference(first, row(pair.embeddings, 1, engine.embeddingSize)) < POSITION_TOLERANCE);
    });

    test('a batch whose pixel count does not match its image count is refused with both numbers in the message', async () => {
      const short = chelsea.subarray(0, PIXELS_PER_IMAGE - 3);
      await assert.rejects(engine.infer(short, 1), (error: unknown) => {
        assert.ok(error instanceof ResnetBatchError, `expected a ResnetBatchError, got ${String(error)}`);
        assert.match(error.message, new RegExp(`${PIXELS_PER_IMAGE}\\b`));
        assert.match(error.message, new RegExp(`${PIXELS_PER_IMAGE - 3}\\b`));
        return true;
      });
      await assert.rejects(engine.infer(chelsea, 2), ResnetBatchError);
    });

    test('after dispose, infer fails with an error that says the engine was disposed', async () => {
      await engine.dispose();
      await assert.rejects(engine.infer(chelsea, 1), (error: unknown) => {
        assert.ok(error instanceof ResnetBatchError, `expected a ResnetBatchError, got ${String(error)}`);
        assert.match(error.message, /disposed/);
        return true;
      });
    });
  });
}
