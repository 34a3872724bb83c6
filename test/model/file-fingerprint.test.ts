// The memo that spares a warm start from hashing 100 MB of weights (model/file-fingerprint.ts):
// recalled only while every file keeps its size, mtime and inode.
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import { fingerprint, recall, remember } from '../../model/file-fingerprint.ts';

let dir: string;
let files: string[];
let memo: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'resnet-batch-fingerprint-'));
  files = [join(dir, 'model.json'), join(dir, 'shard1.bin')];
  memo = join(dir, 'memo', 'weights.json');
  await writeFile(files[0]!, '{"weightsManifest":[]}');
  await writeFile(files[1]!, 'weights');
  await remember(memo, files, await fingerprint(files), 'digest-1');
});
after(() => rm(dir, { recursive: true, force: true }));

describe('a remembered digest', () => {
  test('is recalled while the files are unchanged', async () => {
    assert.equal(await recall(memo, files), 'digest-1');
  });

  test('is forgotten when a file gets another mtime', async () => {
    await utimes(files[1]!, new Date(), new Date(Date.now() + 10_000));
    assert.equal(await recall(memo, files), undefined);
  });

  test('is forgotten when a file is replaced by another of the same size (new inode)', async () => {
    await writeFile(join(dir, 'other.bin'), 'WEIGHTS');
    await rename(join(dir, 'other.bin'), files[1]!);
    assert.equal(await recall(memo, files), undefined);
  });

  test('is forgotten when a file is missing', async () => {
    await rm(files[1]!);
    assert.equal(await recall(memo, files), undefined);
  });

  test('is not recalled for another list of files', async () => {
    assert.equal(await recall(memo, [files[0]!]), undefined);
  });

  test('is not remembered when a file changed while the digest was computed', async () => {
    const before = await fingerprint(files);
    await writeFile(files[1]!, 'weights, longer now');
    await remember(memo, files, before, 'digest-of-the-old-bytes');
    assert.equal(await recall(memo, files), undefined);
  });
});
