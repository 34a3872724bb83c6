// One contract suite, run against every ObjectStore: the local filesystem and S3 (s3rver here,
// MinIO when a Docker engine answers). A new store passes by adding one more objectStoreContract().
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ObjectNotFoundError, ObjectTooLargeError } from '../../shared/errors.ts';
import { LocalStore } from '../../shared/storage/local/local-store.ts';
import type { ObjectInfo, ObjectStore } from '../../shared/storage/object-store.ts';
import { createS3Client } from '../../shared/storage/s3/s3-client.ts';
import { S3Store } from '../../shared/storage/s3/s3-store.ts';
import { useContainers } from '../harness/docker-available.ts';
import { newBucket, s3StorageConfig, startS3, type TestS3 } from '../harness/s3-server.ts';
import { uniqueName } from '../harness/unique-name.ts';

interface StoreUnderTest {
  store: ObjectStore;
  /** A fresh, empty folder URI ending in '/', unique to the calling test. */
  newRoot(): Promise<string>;
  /** Names of the S3 commands sent so far, for stores that speak S3. */
  commands?: string[];
  /**
   * Whether the store under test enforces create-only writes. s3rver ignores If-None-Match on
   * PUT (AWS S3, MinIO and Ceph RGW honour it), so the S3 run checks it only against MinIO.
   */
  enforcesCreateOnly: boolean;
  close(): Promise<void>;
}

function objectStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`${name} store contract`, () => {
    let it: StoreUnderTest;
    before(async () => {
      it = await open();
    });
    after(async () => {
      await it.close();
    });

    test('a written object reads back byte for byte and stat reports its size and etag', async () => {
      const uri = `${await it.newRoot()}image.jpg`;
      const body = randomBytes(1234);
      await it.store.write(uri, body, { contentType: 'image/jpeg' });
      assert.deepEqual(await it.store.read(uri), body);
      const info = await it.store.stat(uri);
      assert.equal(info?.uri, uri);
      assert.equal(info?.size, 1234);
      assert.ok(info.etag.length > 0);
    });

    test('listing five objects with pageSize 2 yields pages of 2, 2 and 1 in key order', async () => {
      const root = await it.newRoot();
      const keys = ['f.jpg', 'c/e.jpg', 'a.jpg', 'c/d.jpg', 'b.jpg'];
      for (const key of keys) await it.store.write(root + key, key);
      const pages = await collectPages(it.store.list(root, { pageSize: 2 }));
      assert.deepEqual(
        pages.map((page) => page.length),
        [2, 2, 1],
      );
      assert.deepEqual(
        pages.flat().map((info) => info.uri),
        [...keys].sort().map((key) => root + key),
      );
      assert.deepEqual(
        pages.flat().map((info) => info.size),
        [...keys].sort().map((key) => key.length),
      );
    });

    test('a listed object carries the same uri, size and etag as its stat', async () => {
      const uri = `${await it.newRoot()}one.png`;
      await it.store.write(uri, 'png bytes');
      const [listed] = (await collectPages(it.store.list(uri))).flat();
      assert.deepEqual(listed, await it.store.stat(uri));
    });

    test('a list prefix is a folder: a sibling whose name extends it is not listed', async () => {
      const root = await it.newRoot();
      await it.store.write(`${root}img/a.jpg`, 'a');
      await it.store.write(`${root}img2/b.jpg`, 'b');
      const uris = (await collectPages(it.store.list(`${root}img`))).flat().map((info) => info.uri);
      assert.deepEqual(uris, [`${root}img/a.jpg`]);
    });

    test('listing a missing prefix yields no objects', async () => {
      const pages = await collectPages(it.store.list(`${await it.newRoot()}nothing-here/`));
      assert.deepEqual(pages.flat(), []);
    });

    test('stat of a missing object is null', async () => {
      assert.equal(await it.store.stat(`${await it.newRoot()}missing.jpg`), null);
    });

    test('reading a missing object throws ObjectNotFoundError, whole or streamed', async () => {
      const uri = `${await it.newRoot()}missing.jpg`;
      await assert.rejects(it.store.read(uri), ObjectNotFoundError);
      await assert.rejects(it.store.readStream(uri), ObjectNotFoundError);
    });

    test('reading an object over maxBytes throws ObjectTooLargeError and one at the limit succeeds', async () => {
      const uri = `${await it.newRoot()}big.bin`;
      await it.store.write(uri, randomBytes(1000));
      await assert.rejects(
        it.store.read(uri, { maxBytes: 999 }),
        (error: unknown) => error instanceof ObjectTooLargeError && error.code === 'TOO_LARGE',
      );
      assert.equal((await it.store.read(uri, { maxBytes: 1000 })).length, 1000);
    });

    test('writing an existing object replaces it', async () => {
      const uri = `${await it.newRoot()}part-00000.npy`;
      await it.store.write(uri, 'first version');
      const before = await it.store.stat(uri);
      await it.store.write(uri, 'second, longer version');
      assert.equal((await it.store.read(uri)).toString(), 'second, longer version');
      assert.notEqual((await it.store.stat(uri))?.etag, before?.etag);
      assert.equal((await collectPages(it.store.list(uri))).flat().length, 1);
    });

    test('keys with unicode, spaces and a literal %2F round-trip through write, list and read', async () => {
      const root = await it.newRoot();
      const names = ['café noir/chat été.jpg', 'a%2Fb.jpg', '日本 語.png'];
      const uris = await Promise.all(names.map(async (name) => uriFor(root, name)));
      for (const [index, uri] of uris.entries()) await it.store.write(uri, `body ${index}`);
      const listed = (await collectPages(it.store.list(root))).flat().map((info) => info.uri);
      assert.deepEqual([...listed].sort(), [...uris].sort());
      for (const [index, uri] of uris.entries()) assert.equal((await it.store.read(uri)).toString(), `body ${index}`);
    });

    test('a 10 MB object is written (by multipart upload on S3) and reads back equal', async () => {
      const uri = `${await it.newRoot()}embeddings/part-00001.npy`;
      const body = randomBytes(10 * 1000 * 1000);
      const sentBefore = it.commands?.length ?? 0;
      await it.store.write(uri, body);
      if (it.commands !== undefined) {
        const sent = it.commands.slice(sentBefore);
        assert.ok(
          sent.includes('CreateMultipartUploadCommand'),
          `expected a multipart upload, sent: ${sent.join(', ')}`,
        );
        assert.equal(sent.filter((command) => command === 'UploadPartCommand').length, 2);
        assert.ok(sent.includes('CompleteMultipartUploadCommand'));
      }
      assert.ok(body.equals(await it.store.read(uri)));
    });

    test('readObject returns the body with the size and etag of the object it came from', async () => {
      const uri = `${await it.newRoot()}photo.jpg`;
      await it.store.write(uri, 'first version');
      await it.store.write(uri, 'the second, longer version');
      const read = await it.store.readObject(uri);
      assert.equal(read.body.toString(), 'the second, longer version');
      const info = await it.store.stat(uri);
      assert.deepEqual(read.info, info);
      assert.equal(read.info.size, read.body.length);
    });

    test('a create-only write creates a missing object and never replaces an existing one', async (t) => {
      const uri = `${await it.newRoot()}_commit`;
      await it.store.write(uri, 'first', { ifNoneMatch: '*' });
      assert.equal((await it.store.read(uri)).toString(), 'first');
      if (!it.enforcesCreateOnly) {
        t.skip('this server ignores If-None-Match on PUT (s3rver); AWS S3, MinIO and Ceph RGW enforce it');
        return;
      }
      await assert.rejects(it.store.write(uri, 'second', { ifNoneMatch: '*' }), { code: 'PRECONDITION_FAILED' });
      assert.equal((await it.store.read(uri)).toString(), 'first');
    });

    test('readStream streams the whole object', async () => {
      const uri = `${await it.newRoot()}model/weights.bin`;
      const body = randomBytes(300_000);
      await it.store.write(uri, body);
      const chunks: Buffer[] = [];
      for await (const chunk of await it.store.readStream(uri)) chunks.push(chunk as Buffer);
      assert.ok(body.equals(Buffer.concat(chunks)));
    });
  });
}

/** Local roots are file URIs, so a name is percent-encoded there and literal in an S3 key. */
function uriFor(root: string, name: string): string {
  if (!root.startsWith('file:')) return root + name;
  return (
    root +
    name
      .split('/')
      .map((segment) => encodeURIComponent(segment))
      .join('/')
  );
}

async function collectPages(pages: AsyncIterable<ObjectInfo[]>): Promise<ObjectInfo[][]> {
  const collected: ObjectInfo[][] = [];
  for await (const page of pages) collected.push(page);
  return collected;
}

objectStoreContract('local filesystem', async () => {
  const base = await mkdtemp(join(tmpdir(), 'resnet-batch-store-'));
  return {
    store: new LocalStore(),
    enforcesCreateOnly: true,
    newRoot: async () => `${pathToFileURL(join(base, uniqueName('root'))).href}/`,
    close: () => rm(base, { recursive: true, force: true }),
  };
});

objectStoreContract('S3', async () => {
  const s3: TestS3 = await startS3();
  const client = createS3Client(s3StorageConfig(s3).s3);
  const commands: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(context.commandName ?? 'unknown');
      return next(args);
    },
    { step: 'initialize', name: 'recordCommandNames' },
  );
  const store = new S3Store(client, { endpointLabel: s3.endpoint });
  return {
    store,
    commands,
    enforcesCreateOnly: await useContainers(),
    newRoot: async () => {
      const bucket = await newBucket(s3);
      return `s3://${bucket}/root/`;
    },
    close: async () => {
      await store.close();
      await s3.stop();
    },
  };
});
