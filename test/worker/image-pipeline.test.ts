// processImages (fetch -> decode -> infer with read-ahead) on the real ResNet-50 and real fixture
// bytes. The model is loaded once for the file; the tests run few, mostly small, images because
// wasm infers ~3 img/s. Fetches are real file reads wrapped to delay, count or fail on purpose.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ObjectNotFoundError, StorageError } from '../../shared/errors.ts';
import type { InferenceEngine } from '../../shared/inference/engine.ts';
import { PACKAGED_MODEL } from '../../shared/inference/model-ref.ts';
import { openEngine } from '../../worker/engines/open-engine.ts';
import { type ImageResult, type ImageTask, processImages } from '../../worker/image-pipeline.ts';
import { readFixture } from '../harness/fixtures.ts';

const CAT_CLASSES = ['Egyptian_cat', 'tabby', 'tiger_cat'];

function fixtureTask(name: string, delayMs = 0): ImageTask<string> {
  return {
    key: name,
    fetch: async () => {
      await sleep(delayMs);
      return readFixture(name);
    },
  };
}

function failingTask(key: string, error: Error): ImageTask<string> {
  return { key, fetch: () => Promise.reject(error) };
}

async function collect<K>(results: AsyncIterable<ImageResult<K>>): Promise<ImageResult<K>[]> {
  const all: ImageResult<K>[] = [];
  for await (const result of results) all.push(result);
  return all;
}

function top1(result: ImageResult<string> | undefined): string {
  assert.equal(result?.status, 'ok', `expected an ok result, got ${JSON.stringify(result)}`);
  return result.status === 'ok' ? (result.top[0]?.label ?? '') : '';
}

describe('processImages', () => {
  let engine: InferenceEngine;
  let labels: readonly string[];

  before(async () => {
    const opened = await openEngine({ choice: 'tfjs-wasm', modelRef: PACKAGED_MODEL });
    engine = opened.engine;
    labels = opened.model.labels;
  });

  after(async () => {
    await engine?.dispose();
  });

  test('results come back one per input, in input order, even when later fetches finish first', async () => {
    const names = ['chelsea.png', 'palette_color.png', 'coffee.png', 'green_palette.png', 'no_time_for_that_tiny.gif'];
    // The first images are the slowest to fetch, so completion order is the reverse of input order.
    const tasks = names.map((name, index) => fixtureTask(name, (names.length - index) * 30));
    const results = await collect(processImages(tasks, { engine, labels, batchSize: 2, topK: 3 }));
    assert.deepEqual(
      results.map((result) => result.key),
      names,
    );
    for (const result of results) {
      assert.equal(result.status, 'ok', `${result.key}: ${JSON.stringify(result)}`);
      if (result.status !== 'ok') continue;
      assert.equal(result.embedding.length, engine.embeddingSize);
      assert.equal(result.top.length, 3);
    }
    const chelsea = results[0];
    assert.ok(chelsea?.status === 'ok' && chelsea.width === 451 && chelsea.height === 300, 'chelsea.png is 451x300');
    assert.ok(CAT_CLASSES.includes(top1(results[0])));
    assert.equal(top1(results[2]), 'espresso');
  });

  test('a corrupt image in the middle of a batch becomes an error result and its neighbours still classify', async () => {
    const tasks = ['chelsea.png', 'truncated.jpg', 'coffee.png'].map((name) => fixtureTask(name));
    const results = await collect(processImages(tasks, { engine, labels, batchSize: 3 }));
    assert.equal(results.length, 3);
    const corrupt = results[1];
    assert.equal(corrupt?.status, 'error');
    if (corrupt?.status === 'error') {
      assert.equal(corrupt.key, 'truncated.jpg');
      assert.equal(corrupt.code, 'DECODE_FAILED');
      assert.match(corrupt.error, /premature end of JPEG image/);
    }
    assert.ok(CAT_CLASSES.includes(top1(results[0])));
    assert.equal(top1(results[2]), 'espresso');
  });

  test('an object that is gone by fetch time becomes a NOT_FOUND result', async () => {
    const gone = 's3://bucket/gone.jpg';
    const results = await collect(
      processImages([failingTask(gone, new ObjectNotFoundError(gone))], { engine, labels }),
    );
    assert.equal(results.length, 1);
    assert.equal(results[0]?.status, 'error');
    if (results[0]?.status === 'error') {
      assert.equal(results[0].code, 'NOT_FOUND');
      assert.match(results[0].error, /gone\.jpg/);
    }
  });

  test('a storage failure thrown by fetch rejects the whole run instead of becoming an image result', async () => {
    const outage = new StorageError('GET s3://bucket/b.jpg failed: 503 SlowDown; retry later');
    const tasks = [fixtureTask('palette_color.png'), failingTask('b.jpg', outage), fixtureTask('green_palette.png')];
    await assert.rejects(
      collect(processImages(tasks, { engine, labels, batchSize: 4 })),
      (error: unknown) => error === outage,
    );
  });

  test('readAhead bounds the number of fetches in flight at once', async () => {
    let inFlight = 0;
    let most = 0;
    const countingTask = (index: number): ImageTask<number> => ({
      key: index,
      fetch: async () => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        try {
          await sleep(20);
          return await readFixture('palette_color.png');
        } finally {
          inFlight -= 1;
        }
      },
    });
    const tasks = Array.from({ length: 7 }, (_, index) => countingTask(index));
    const results = await collect(processImages(tasks, { engine, labels, batchSize: 2, readAhead: 3 }));
    assert.deepEqual(
      results.map((result) => result.key),
      [0, 1, 2, 3, 4, 5, 6],
    );
    assert.equal(most, 3, `at most 3 fetches should run at once, and read-ahead should reach 3; saw ${most}`);
  });
});
