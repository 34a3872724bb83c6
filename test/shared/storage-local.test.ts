// Behaviour specific to the local filesystem store; the shared behaviour is in storage-contract.test.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { LocalStore } from '../../shared/storage/local/local-store.ts';
import { useTempDir } from '../harness/temp-dir.ts';

describe('LocalStore', () => {
  const base = useTempDir('resnet-batch-local-');
  const store = new LocalStore();
  async function listUris(prefix: string): Promise<string[]> {
    const uris: string[] = [];
    for await (const page of store.list(prefix)) uris.push(...page.map((info) => info.uri));
    return uris;
  }

  test('listing follows S3 key order across folders, where a-b sorts before a/x', async () => {
    const root = join(base.path, 'order');
    await mkdir(join(root, 'a'), { recursive: true });
    await writeFile(join(root, 'a', 'x'), '1');
    await writeFile(join(root, 'a-b'), '2');
    await writeFile(join(root, 'a0'), '3');
    assert.deepEqual(
      await listUris(root),
      ['a-b', 'a/x', 'a0'].map((key) => pathToFileURL(join(root, key)).href),
    );
  });

  test('a plain path lists the same objects as its file URI', async () => {
    const root = join(base.path, 'plain');
    await store.write(join(root, 'one.jpg'), 'x');
    assert.deepEqual(await listUris(root), await listUris(pathToFileURL(root).href));
  });

  test('a write creates the missing parent folders', async () => {
    const path = join(base.path, 'deep', 'er', 'part-00000.parquet');
    await store.write(path, 'parquet');
    assert.equal((await stat(path)).size, 7);
  });

  test('the etag is the modification time in ms and the size', async () => {
    const path = join(base.path, 'etag.bin');
    await store.write(path, 'twelve bytes');
    const stats = await stat(path);
    assert.equal((await store.stat(path))?.etag, `${stats.mtimeMs}-12`);
  });

  test('in-progress temporary files of atomic writes are not listed', async () => {
    const root = join(base.path, 'tmpfiles');
    await store.write(join(root, 'done.npy'), 'x');
    await writeFile(join(root, `.half.npy.tmp-${process.pid}-0123456789ab`), 'partial');
    assert.deepEqual(await listUris(root), [pathToFileURL(join(root, 'done.npy')).href]);
  });

  test('symlinked files are listed and symlinked folders are skipped', async () => {
    const root = join(base.path, 'links');
    await store.write(join(root, 'real', 'a.jpg'), 'a');
    await symlink(join(root, 'real', 'a.jpg'), join(root, 'link.jpg'));
    await symlink(join(root, 'real'), join(root, 'loop'));
    assert.deepEqual(
      await listUris(root),
      ['link.jpg', 'real/a.jpg'].map((key) => pathToFileURL(join(root, key)).href),
    );
  });

  test('a folder is not an object: stat is null and read says it is not a file', async () => {
    await mkdir(join(base.path, 'a-folder'), { recursive: true });
    assert.equal(await store.stat(join(base.path, 'a-folder')), null);
    await assert.rejects(store.read(join(base.path, 'a-folder')), {
      code: 'NOT_A_FILE',
      message: /is a directory, not a regular file/,
    });
  });

  test('a FIFO named like an image is refused at once as not a file, without waiting for a writer', async () => {
    const fifo = join(base.path, 'pipe.jpg');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(store.read(fifo), { code: 'NOT_A_FILE', message: /is a FIFO, not a regular file/ });
    assert.equal(await store.stat(fifo), null);
    const listed = await listUris(base.path);
    assert.ok(!listed.some((uri) => uri.endsWith('/pipe.jpg')), 'a FIFO is never listed');
  });

  test('a link that loops is skipped with its reason while the rest of the folder is listed', async () => {
    const root = join(base.path, 'loops');
    await store.write(join(root, 'a.jpg'), 'a');
    await store.write(join(root, 'z.jpg'), 'z');
    await symlink(join(root, 'loop-b.jpg'), join(root, 'loop-a.jpg'));
    await symlink(join(root, 'loop-a.jpg'), join(root, 'loop-b.jpg'));
    const skipped: Array<{ uri: string; reason: string }> = [];
    const listed: string[] = [];
    for await (const page of store.list(root, { onSkip: (entry) => skipped.push(entry) }))
      listed.push(...page.map((info) => info.uri));
    assert.deepEqual(
      listed,
      ['a.jpg', 'z.jpg'].map((key) => pathToFileURL(join(root, key)).href),
    );
    assert.deepEqual(
      skipped.map((entry) => [
        entry.uri.slice(entry.uri.lastIndexOf('/') + 1),
        /ELOOP: a link that loops/.test(entry.reason),
      ]),
      [
        ['loop-a.jpg', true],
        ['loop-b.jpg', true],
      ],
    );
  });

  test('a create-only write of an existing object fails and leaves it as it was, with no temporary file behind', async () => {
    const path = join(base.path, 'create-only', 'marker');
    await store.write(path, 'one', { ifNoneMatch: '*' });
    await assert.rejects(store.write(path, 'two', { ifNoneMatch: '*' }), { code: 'PRECONDITION_FAILED' });
    assert.equal((await store.read(path)).toString(), 'one');
    assert.deepEqual(await readdir(join(base.path, 'create-only')), ['marker']);
  });
});
