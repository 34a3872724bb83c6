import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UriEtagSet } from '../../producer/uri-etag-set.ts';

test('a pair added is found, and the same URI with another ETag is not', () => {
  const set = new UriEtagSet();
  set.add('s3://b/a.jpg', 'etag-1');
  set.freeze();
  assert.equal(set.has('s3://b/a.jpg', 'etag-1'), true);
  assert.equal(set.has('s3://b/a.jpg', 'etag-2'), false);
  assert.equal(set.has('s3://b/b.jpg', 'etag-1'), false);
});

test('URI and ETag never run together: (ab, c) and (a, bc) are different pairs', () => {
  const set = new UriEtagSet();
  set.add('s3://b/ab', 'c');
  set.freeze();
  assert.equal(set.has('s3://b/a', 'bc'), false);
});

test('100,000 pairs grow the set past its first capacity and are all found', () => {
  const set = new UriEtagSet();
  for (let i = 0; i < 100_000; i += 1) set.add(`s3://b/img-${i}.jpg`, `e${i}`);
  set.freeze();
  assert.equal(set.size, 100_000);
  for (let i = 0; i < 100_000; i += 997) assert.equal(set.has(`s3://b/img-${i}.jpg`, `e${i}`), true);
  assert.equal(set.has('s3://b/img-100000.jpg', 'e100000'), false);
});

test('adding after freeze is refused, so a lookup never sees an unsorted set', () => {
  const set = new UriEtagSet().freeze();
  assert.throws(() => set.add('s3://b/a', 'e'), /after freeze/);
});
