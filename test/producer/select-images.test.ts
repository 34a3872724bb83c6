import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectImages } from '../../producer/select-images.ts';
import { decodableNameTest, decodableSuffixes } from '../../shared/inference/image-formats.ts';
import type { ObjectInfo } from '../../shared/storage/object-store.ts';

const info = (uri: string): ObjectInfo => ({ uri, size: 1, etag: 'e' });

test('the installed sharp yields the common photo suffixes', () => {
  const suffixes = decodableSuffixes();
  for (const suffix of ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'])
    assert.ok(suffixes.includes(suffix), suffix);
});

test('svg and pdf are never kept, whatever sharp reports', () => {
  const suffixes = decodableSuffixes();
  for (const suffix of ['.svg', '.svgz', '.pdf', '.v']) assert.ok(!suffixes.includes(suffix), suffix);
});

test('a format the sharp build cannot read from files contributes no suffixes', () => {
  const formats = {
    jpeg: { input: { file: true, fileSuffix: ['.jpg'] } },
    jp2: { input: { file: false } },
    png: { input: { file: true } },
  };
  assert.deepEqual(decodableSuffixes(formats), ['.jpg', '.png']);
});

test('names are matched by their last suffix, in any case', () => {
  const isImage = decodableNameTest();
  assert.equal(isImage('s3://b/Photos/IMG_01.JPG'), true);
  assert.equal(isImage('file:///data/x.tar.png'), true);
  assert.equal(isImage('file:///data/notes.txt'), false);
  assert.equal(isImage('file:///data/.jpg'), false);
  assert.equal(isImage('s3://b/folder.jpg/readme'), false);
});

test('non-images are skipped and reported one by one', async () => {
  const skipped: string[] = [];
  const pages = (async function* () {
    yield [info('s3://b/a.jpg'), info('s3://b/a.json'), info('s3://b/b.png')];
    yield [info('s3://b/c.pdf'), info('s3://b/d.svg')];
  })();
  const kept: string[] = [];
  for await (const page of selectImages(pages, (object) => skipped.push(object.uri)))
    kept.push(...page.map((object) => object.uri));
  assert.deepEqual(kept, ['s3://b/a.jpg', 's3://b/b.png']);
  assert.deepEqual(skipped, ['s3://b/a.json', 's3://b/c.pdf', 's3://b/d.svg']);
});

test('web URLs are kept whatever their names end in: the worker judges their bytes', async () => {
  const pages = (async function* () {
    yield [info('https://cdn.example/photo?id=3'), info('https://cdn.example/a.jpg?w=800'), info('s3://b/a.json')];
  })();
  const kept: string[] = [];
  for await (const page of selectImages(pages)) kept.push(...page.map((object) => object.uri));
  assert.deepEqual(kept, ['https://cdn.example/photo?id=3', 'https://cdn.example/a.jpg?w=800']);
});
