import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputRootsBuilder, MAX_INPUT_ROOTS } from '../../producer/input-roots.ts';
import { ConfigError } from '../../shared/errors.ts';

function rootsOf(uris: string[]): string[] {
  const builder = new InputRootsBuilder();
  for (const uri of uris) builder.add(uri);
  return builder.roots();
}

test('images of one bucket share the deepest common key folder as their root', () => {
  assert.deepEqual(rootsOf(['s3://bkt/photos/2024/a.jpg', 's3://bkt/photos/2025/b.jpg']), ['s3://bkt/photos/']);
});

test('images at the top of a bucket make the whole bucket the root', () => {
  assert.deepEqual(rootsOf(['s3://bkt/a.jpg', 's3://bkt/photos/b.jpg']), ['s3://bkt/']);
});

test('local images under different top-level folders get one root each, never the filesystem root', () => {
  assert.deepEqual(rootsOf(['file:///data/set/a.jpg', 'file:///home/me/pics/b.jpg', 'file:///data/set/sub/c.jpg']), [
    'file:///data/set',
    'file:///home/me/pics',
  ]);
  assert.deepEqual(rootsOf(['file:///data/a.jpg', 'file:///data/x/b.jpg']), ['file:///data']);
});

test('a local file directly under the filesystem root is its own root', () => {
  assert.deepEqual(rootsOf(['file:///a.jpg']), ['file:///a.jpg']);
});

test('buckets and local folders mix in one sorted list', () => {
  assert.deepEqual(rootsOf(['s3://two/x/a.jpg', 'file:///data/b.jpg', 's3://one/c.jpg']), [
    'file:///data',
    's3://one/',
    's3://two/x/',
  ]);
});

test('more roots than a job may carry is refused with how to split the run', () => {
  const uris = Array.from({ length: MAX_INPUT_ROOTS + 1 }, (_, i) => `s3://bucket-${String(i).padStart(3, '0')}/a.jpg`);
  assert.throws(
    () => rootsOf(uris),
    (error: unknown) => error instanceof ConfigError && /split the manifest/.test(error.message),
  );
});

test("web images on one host get that host's deepest common folder; on several hosts, any host of the scheme", () => {
  assert.deepEqual(rootsOf(['https://cdn.example/img/a/1.jpg', 'https://cdn.example/img/b/2.jpg?w=800']), [
    'https://cdn.example/img/',
  ]);
  assert.deepEqual(rootsOf(['https://a.example/x/1.jpg', 'https://b.example/x/2.jpg', 'http://c.example/3.jpg']), [
    'http://c.example/',
    'https://*/',
  ]);
});
