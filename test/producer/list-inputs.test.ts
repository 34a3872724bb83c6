import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  describeInput,
  type InputListing,
  type ListOptions,
  openListing,
  type SkippedInput,
} from '../../producer/list-inputs.ts';
import { ConfigError } from '../../shared/errors.ts';
import type { ObjectInfo } from '../../shared/storage/object-store.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import type { StorageConfig } from '../../shared/storage/storage-config.ts';
import { fixturePath } from '../harness/fixtures.ts';
import { newBucket, s3StorageConfig, useS3 } from '../harness/s3-server.ts';
import { setUp } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

const dir = useTempDir('producer-list-');

setUp(async () => {
  await mkdir(join(dir.path, 'photos', 'nested'), { recursive: true });
  await copyFile(fixturePath('chelsea.png'), join(dir.path, 'photos', 'chelsea.png'));
  await copyFile(fixturePath('rocket.jpg'), join(dir.path, 'photos', 'nested', 'rocket.jpg'));
  await writeFile(join(dir.path, 'photos', 'notes.txt'), 'not an image');
});

function localOptions(skipped: SkippedInput[] = [], pageSize?: number): ListOptions {
  return { openStore: (uri) => openStore(uri), onSkip: (entry) => skipped.push(entry), pageSize };
}

/** Every page of a listing, closed at the end. */
async function collectListing(opening: Promise<InputListing>): Promise<ObjectInfo[]> {
  const listing = await opening;
  try {
    return await collect(listing.pages);
  } finally {
    await listing.close();
  }
}

async function collect(pages: AsyncIterable<ObjectInfo[]>): Promise<ObjectInfo[]> {
  const all: ObjectInfo[] = [];
  for await (const page of pages) all.push(...page);
  return all;
}

const fileUri = (path: string) => pathToFileURL(path).href;

describe('local inputs', () => {
  test('a folder lists every file below it, recursively, in key order with sizes and etags', async () => {
    const listed = await collectListing(openListing(join(dir.path, 'photos'), localOptions()));
    assert.deepEqual(
      listed.map((info) => info.uri),
      [
        fileUri(join(dir.path, 'photos/chelsea.png')),
        fileUri(join(dir.path, 'photos/nested/rocket.jpg')),
        fileUri(join(dir.path, 'photos/notes.txt')),
      ],
    );
    assert.ok(listed.every((info) => info.size > 0 && info.etag !== ''));
  });

  test('a folder is its own single input root', async () => {
    const listing = await openListing(fileUri(join(dir.path, 'photos')), localOptions());
    assert.deepEqual(listing.inputRoots, [fileUri(join(dir.path, 'photos'))]);
    assert.equal(listing.input.kind, 'prefix');
  });

  test('a missing folder is refused with what an input may be', async () => {
    await assert.rejects(
      describeInput(join(dir.path, 'nope'), (uri) => openStore(uri)),
      (error: unknown) =>
        error instanceof ConfigError && /does not exist/.test(error.message) && /manifest/.test(error.message),
    );
  });

  test('a .txt manifest skips blank and comment lines and resolves relative paths against its folder', async () => {
    const manifest = join(dir.path, 'list.txt');
    await writeFile(
      manifest,
      `# images\n\nphotos/chelsea.png\n  ${join(dir.path, 'photos/nested/rocket.jpg')}  \r\n${fileUri(join(dir.path, 'photos/notes.txt'))}\n`,
    );
    const skipped: SkippedInput[] = [];
    const listing = await openListing(manifest, localOptions(skipped));
    const listed = await collect(listing.pages);
    assert.deepEqual(listed, [
      { uri: fileUri(join(dir.path, 'photos/chelsea.png')), size: -1, etag: '' },
      { uri: fileUri(join(dir.path, 'photos/nested/rocket.jpg')), size: -1, etag: '' },
      { uri: fileUri(join(dir.path, 'photos/notes.txt')), size: -1, etag: '' },
    ]);
    assert.deepEqual(skipped, []);
    assert.deepEqual(listing.inputRoots, [fileUri(join(dir.path, 'photos'))]);
  });

  test('the same file named three ways in a manifest is listed once, and the other two are skipped as duplicates', async () => {
    const manifest = join(dir.path, 'dupes.txt');
    const chelsea = join(dir.path, 'photos/chelsea.png');
    await writeFile(
      manifest,
      `photos/chelsea.png\nphotos/nested/rocket.jpg\n./photos/chelsea.png\n${fileUri(chelsea)}\n`,
    );
    const skipped: SkippedInput[] = [];
    const listed = await collectListing(openListing(manifest, localOptions(skipped)));
    assert.deepEqual(
      listed.map((info) => info.uri),
      [fileUri(chelsea), fileUri(join(dir.path, 'photos/nested/rocket.jpg'))],
    );
    assert.deepEqual(
      skipped.map((entry) => [entry.reason, entry.where.slice(entry.where.lastIndexOf(':') + 1)]),
      [
        ['duplicate', '3'],
        ['duplicate', '4'],
      ],
    );
  });

  test('a .jsonl manifest keeps size and etag, and a bad line and a huge line are skipped with their line numbers', async () => {
    const manifest = join(dir.path, 'list.jsonl');
    const lines = [
      JSON.stringify({ uri: 'photos/chelsea.png', size: 123, etag: 'abc' }),
      '{not json',
      JSON.stringify({ uri: 'photos/nested/rocket.jpg' }),
      JSON.stringify({ path: 'no-uri.jpg' }),
      JSON.stringify({ uri: `photos/${'x'.repeat(20_000)}.jpg` }),
      JSON.stringify({ uri: 'ftp://example.com/a.jpg' }),
      '',
    ];
    await writeFile(manifest, lines.join('\n'));
    const skipped: SkippedInput[] = [];
    const listed = await collectListing(openListing(manifest, localOptions(skipped)));
    assert.deepEqual(listed, [
      { uri: fileUri(join(dir.path, 'photos/chelsea.png')), size: 123, etag: 'abc' },
      { uri: fileUri(join(dir.path, 'photos/nested/rocket.jpg')), size: -1, etag: '' },
    ]);
    assert.deepEqual(
      skipped.map((entry) => [entry.reason, entry.where.slice(entry.where.lastIndexOf(':') + 1)]),
      [
        ['invalid-entry', '2'],
        ['invalid-entry', '4'],
        ['invalid-entry', '5'],
        ['invalid-entry', '6'],
      ],
    );
    assert.match(skipped[2]?.detail ?? '', /over the 8192-byte limit/);
    assert.match(skipped[3]?.detail ?? '', /unsupported storage scheme 'ftp:'/);
  });

  test('a manifest with no usable line is refused before listing', async () => {
    const manifest = join(dir.path, 'empty.txt');
    await writeFile(manifest, '# nothing here\n\n');
    await assert.rejects(
      openListing(manifest, localOptions()),
      (error: unknown) => error instanceof ConfigError && /names no usable image URI/.test(error.message),
    );
  });

  test('a manifest naming files in two top-level folders gets one root per folder', async () => {
    const manifest = join(dir.path, 'spread.txt');
    await writeFile(manifest, '/srv/a/x.jpg\n/opt/b/c/y.jpg\n/opt/b/z.jpg\n');
    const listing = await openListing(manifest, localOptions());
    assert.deepEqual(listing.inputRoots, ['file:///opt/b', 'file:///srv/a']);
  });
});

describe('S3 inputs', () => {
  const s3 = useS3();
  let config: StorageConfig;
  let bucket: string;
  const open = (uri: string) => openStore(uri, config);

  before(async () => {
    config = s3StorageConfig(s3);
    bucket = await newBucket(s3);
    const store = open(`s3://${bucket}/`);
    for (const key of ['imgs/a.jpg', 'imgs/b.png', 'imgs/sub/c.gif', 'imgs2/d.jpg', 'imgs/readme.md'])
      await store.write(`s3://${bucket}/${key}`, 'x');
    await store.write(
      `s3://${bucket}/lists/m.txt`,
      `../imgs/a.jpg\ns3://${bucket}/imgs/sub/c.gif\n/etc/passwd\nfile:///etc/hosts\n`,
    );
    await store.write(`s3://${bucket}/lists/ok.txt`, `s3://${bucket}/imgs/a.jpg\ns3://${bucket}/imgs/sub/c.gif\n`);
    await store.close();
  });

  test('a prefix lists its objects across pages, as a folder, not keys that only share the prefix string', async () => {
    const skipped: SkippedInput[] = [];
    const listing = await openListing(`s3://${bucket}/imgs`, {
      openStore: open,
      pageSize: 2,
      onSkip: (entry) => skipped.push(entry),
    });
    const listed = await collect(listing.pages);
    assert.deepEqual(
      listed.map((info) => info.uri),
      [
        `s3://${bucket}/imgs/a.jpg`,
        `s3://${bucket}/imgs/b.png`,
        `s3://${bucket}/imgs/readme.md`,
        `s3://${bucket}/imgs/sub/c.gif`,
      ],
    );
    assert.ok(listed.every((info) => info.size === 1 && info.etag !== ''));
    assert.deepEqual(skipped, []);
    assert.deepEqual(listing.inputRoots, [`s3://${bucket}/imgs`]);
  });

  test('a prefix in a missing bucket is refused with a line naming the bucket problem', async () => {
    await assert.rejects(
      openListing(`s3://${uniqueName('missing')}/imgs/`, { openStore: open }),
      (error: unknown) => error instanceof ConfigError && /bucket does not exist/.test(error.message),
    );
  });

  test('a manifest in S3 resolves keys relative to its folder and refuses local paths', async () => {
    const skipped: SkippedInput[] = [];
    const listed = await collectListing(
      openListing(`s3://${bucket}/lists/ok.txt`, { openStore: open, onSkip: (entry) => skipped.push(entry) }),
    );
    assert.deepEqual(
      listed.map((info) => info.uri),
      [`s3://${bucket}/imgs/a.jpg`, `s3://${bucket}/imgs/sub/c.gif`],
    );
    const other: SkippedInput[] = [];
    const listing = await openListing(`s3://${bucket}/lists/m.txt`, {
      openStore: open,
      onSkip: (entry) => other.push(entry),
    });
    const fromRelative = await collect(listing.pages);
    assert.deepEqual(
      fromRelative.map((info) => info.uri),
      [`s3://${bucket}/imgs/sub/c.gif`],
    );
    assert.deepEqual(
      other.map((entry) => entry.where.slice(entry.where.lastIndexOf(':') + 1)),
      ['1', '3', '4'],
    );
    assert.deepEqual(listing.inputRoots, [`s3://${bucket}/imgs/sub/`]);
  });
});
