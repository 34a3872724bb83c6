// model/check-model.ts: what submit checks of --model, on the real cached artifact and on copies of
// it with one thing wrong, and on an s3:// prefix of a real S3 server (s3rver) holding nothing.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { ARTIFACT_LAYOUT, ARTIFACT_MODEL_ID, ARTIFACT_WEIGHTS_SHA256 } from '../../model/artifact.ts';
import { checkModel } from '../../model/check-model.ts';
import { artifactCacheDir } from '../../model/model-cache.ts';
import { ConfigError } from '../../shared/errors.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { s3StorageConfig, useS3 } from '../harness/s3-server.ts';
import { useTempDir } from '../harness/temp-dir.ts';

const artifact = artifactCacheDir();

/** The artifact's files, relative to its root: model.json, the shards, the labels. */
async function artifactFiles(): Promise<string[]> {
  const folder = dirname(ARTIFACT_LAYOUT.modelJson);
  const shards = (await readdir(join(artifact, folder))).map((name) => `${folder}/${name}`);
  return [...shards, ARTIFACT_LAYOUT.labels];
}

/** A model folder linking every artifact file but those `change` writes itself. */
async function modelCopy(root: string, change: Record<string, Uint8Array | null>): Promise<string> {
  const dir = await mkdtemp(join(root, 'model-'));
  for (const file of await artifactFiles()) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    if (!(file in change)) await symlink(join(artifact, file), join(dir, file));
    else if (change[file] !== null) await writeFile(join(dir, file), change[file]!);
  }
  return dir;
}

describe('checkModel', () => {
  const root = useTempDir('resnet-batch-check-model-');
  const s3 = useS3();

  before(async () => {
    await s3.createBucket('models');
  });

  test('the default model is the pinned artifact, known without reading anything', async () => {
    assert.deepEqual(await checkModel('default', { env: { RESNET_BATCH_CACHE: join(root.path, 'nothing-here') } }), {
      ref: 'default',
      weightsSha256: ARTIFACT_WEIGHTS_SHA256,
      modelId: ARTIFACT_MODEL_ID,
    });
  });

  test('a folder holding the artifact gives its digest and the artifact id', async () => {
    const checked = await checkModel(await modelCopy(root.path, {}));
    assert.equal(checked.weightsSha256, ARTIFACT_WEIGHTS_SHA256);
    assert.equal(checked.modelId, ARTIFACT_MODEL_ID);
  });

  test('a folder that does not exist is refused, naming the file and the layout expected', async () => {
    await assert.rejects(checkModel(join(root.path, 'no-such-model')), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /^--model \S+no-such-model cannot be used: model file \S+model\.json is not found/);
      assert.match(error.message, /pass --model a folder that holds ResNet50\/model\.json and assets\/labels\.json/);
      return true;
    });
  });

  test('a truncated weight shard is refused with the bytes found and expected', async () => {
    const [firstShard] = (await artifactFiles()).filter((file) => file.endsWith('.bin'));
    assert.ok(firstShard);
    const bytes = await readFile(join(artifact, firstShard));
    const dir = await modelCopy(root.path, { [firstShard]: bytes.subarray(0, bytes.length - 100) });
    await assert.rejects(checkModel(dir), /cannot be used: the shards .* hold \d+ bytes, expected \d+/);
  });

  test('a folder without the labels is refused, naming them', async () => {
    const dir = await modelCopy(root.path, { [ARTIFACT_LAYOUT.labels]: null });
    await assert.rejects(checkModel(dir), /cannot be used: model file \S+assets\/labels\.json is not found/);
  });

  test('a model.json that is not JSON is refused as corrupt', async () => {
    const dir = await modelCopy(root.path, {
      [ARTIFACT_LAYOUT.modelJson]: new TextEncoder().encode('{"weightsManifest": ['),
    });
    await assert.rejects(checkModel(dir), /cannot be used: ResNet50\/model\.json is not JSON/);
  });

  test('an s3:// prefix holding no model is refused, naming what is missing', async () => {
    const env = { RESNET_BATCH_RUNTIME_CACHE: join(root.path, 'runtime-cache') };
    const config = s3StorageConfig(s3);
    const open = (uri: string) => openStore(uri, config);
    await assert.rejects(checkModel('s3://models/resnet50/', { env, openStore: open }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(
        error.message,
        /^--model s3:\/\/models\/resnet50\/ cannot be used: .*model\.json .*object not found/,
      );
      return true;
    });
  });
});
