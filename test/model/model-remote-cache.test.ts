import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ARTIFACT_LAYOUT, ARTIFACT_MODEL_ID } from '../../model/artifact.ts';
import { loadResNet } from '../../model/load-resnet.ts';
import { artifactCacheDir } from '../../model/model-cache.ts';
import { readModelFileFromStore } from '../../model/remote-model-cache.ts';
import { resnet50 } from '../../model/spec.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { newBucket, s3StorageConfig, useS3 } from '../harness/s3-server.ts';
import { useTempDir } from '../harness/temp-dir.ts';

describe('a model in object storage', () => {
  const s3 = useS3();
  let store: ObjectStore;
  const cache = useTempDir('model-cache-');
  let modelUri: string;
  const localArtifact = artifactCacheDir();

  before(async () => {
    const bucket = await newBucket(s3, 'models');
    store = openStore(`s3://${bucket}/`, s3StorageConfig(s3));
    modelUri = `s3://${bucket}/resnet50/`;
    const modelJson = JSON.parse(await readFile(join(localArtifact, ARTIFACT_LAYOUT.modelJson), 'utf8')) as {
      weightsManifest: { paths: string[] }[];
    };
    const files = [
      ARTIFACT_LAYOUT.modelJson,
      ARTIFACT_LAYOUT.labels,
      ...modelJson.weightsManifest.flatMap((group) => group.paths.map((path) => `ResNet50/${path}`)),
    ];
    for (const file of files) await store.write(`${modelUri}${file}`, await readFile(join(localArtifact, file)));
  });

  after(async () => {
    await store.close();
  });

  test('loads from s3:// into the same model id as the published artifact', async () => {
    const loaded = await loadResNet(
      resnet50,
      readModelFileFromStore(modelUri, store, { RESNET_BATCH_CACHE: cache.path }),
    );
    assert.equal(loaded.modelId, ARTIFACT_MODEL_ID);
    assert.equal(loaded.labels[285], 'Egyptian_cat');
    loaded.model.dispose();
  });

  test('downloads once per host: a second reader uses the same digest folder without downloading again', async () => {
    const remoteDirs = await readdir(join(cache.path, 'remote'));
    assert.equal(remoteDirs.length, 1);
    const dir = join(cache.path, 'remote', remoteDirs[0] ?? '');
    const before = (await stat(join(dir, ARTIFACT_LAYOUT.modelJson))).mtimeMs;
    const bytes = await readModelFileFromStore(modelUri, store, { RESNET_BATCH_CACHE: cache.path })(
      ARTIFACT_LAYOUT.labels,
    );
    assert.deepEqual(Buffer.from(bytes), await readFile(join(localArtifact, ARTIFACT_LAYOUT.labels)));
    assert.deepEqual(await readdir(join(cache.path, 'remote')), remoteDirs);
    assert.equal((await stat(join(dir, ARTIFACT_LAYOUT.modelJson))).mtimeMs, before);
  });

  test('a changed object gets a new cache folder instead of a stale hit', async () => {
    const labels = JSON.parse(await readFile(join(localArtifact, ARTIFACT_LAYOUT.labels), 'utf8')) as Record<
      string,
      string
    >;
    await store.write(`${modelUri}${ARTIFACT_LAYOUT.labels}`, JSON.stringify({ ...labels, 0: 'renamed_tench' }));
    const bytes = await readModelFileFromStore(modelUri, store, { RESNET_BATCH_CACHE: cache.path })(
      ARTIFACT_LAYOUT.labels,
    );
    assert.equal((JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, string>)['0'], 'renamed_tench');
    assert.equal((await readdir(join(cache.path, 'remote'))).length, 2);
  });

  test('a missing model file is a ModelError naming it', async () => {
    const reader = readModelFileFromStore(`${modelUri.replace('resnet50/', 'nothing-here/')}`, store, {
      RESNET_BATCH_CACHE: cache.path,
    });
    await assert.rejects(
      reader(ARTIFACT_LAYOUT.modelJson),
      (error: Error) => error.name === 'ModelError' && error.message.includes('nothing-here/ResNet50/model.json'),
    );
  });
});
