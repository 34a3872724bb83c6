import assert from 'node:assert/strict';
import { test } from 'node:test';
import { threadCounts } from '../../worker/thread-counts.ts';

test('on 2 cores with the default pool the engine gets both cores and each decode one libvips thread', () => {
  assert.deepEqual(threadCounts(2, {}), {
    cores: 2,
    intraOpNumThreads: 2,
    sharpConcurrency: 1,
    uvThreadpoolSize: 4,
    recommendedUvThreadpoolSize: 4,
  });
});

test('on 16 cores the pool should hold 18 threads, and with the default 4 each decode gets 5 libvips threads', () => {
  const counts = threadCounts(16, {});
  assert.equal(counts.recommendedUvThreadpoolSize, 18);
  assert.equal(counts.sharpConcurrency, 5);
  assert.equal(threadCounts(16, { UV_THREADPOOL_SIZE: '18' }).sharpConcurrency, 1);
});
