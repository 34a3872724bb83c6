// The builder's ResNet-50 filled with the published weights against the same artifact loaded by
// tf.loadLayersModel (the reference), on real photos; and the loader's refusals. Uses the model
// cache the install fetched (fetched here when missing). wasm runs ResNet-50 at ~3 img/s, so two
// images.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import sharp from 'sharp';
import { ARTIFACT_LAYOUT, ARTIFACT_MODEL_ID, ARTIFACT_WEIGHTS_SHA256 } from '../../model/artifact.ts';
import { buildResNet } from '../../model/build-resnet.ts';
import { fetchArtifact } from '../../model/fetch-artifact.ts';
import { type LoadedResNet, loadResNet } from '../../model/load-resnet.ts';
import { assignWeightsByName, readWeightsFile } from '../../model/load-weights.ts';
import { artifactCacheDir } from '../../model/model-cache.ts';
import { PREPROCESS } from '../../model/preprocess-spec.ts';
import { type ReadModelFile, readModelFileFromDir } from '../../model/read-model-file.ts';
import { resnet50 } from '../../model/spec.ts';
import { ModelError } from '../../shared/errors.ts';

const IMAGES = new URL('../fixtures/images/', import.meta.url);
const cacheDir = artifactCacheDir();
const modelFolder = join(cacheDir, 'ResNet50');

/** Shorter side to 256, centre crop 224, RGB -> BGR minus the caffe means: the constants of preprocess-spec.ts. */
async function preprocess(file: string): Promise<Float32Array> {
  const side = PREPROCESS.resizeShorterSide;
  const crop = PREPROCESS.cropSize;
  const { data, info } = await sharp(new URL(file, IMAGES).pathname)
    .removeAlpha()
    .resize({ width: side, height: side, fit: 'outside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const top = Math.floor((info.height - crop) / 2);
  const left = Math.floor((info.width - crop) / 2);
  const out = new Float32Array(crop * crop * 3);
  for (let y = 0; y < crop; y += 1) {
    for (let x = 0; x < crop; x += 1) {
      const from = ((top + y) * info.width + left + x) * 3;
      const to = (y * crop + x) * 3;
      for (let c = 0; c < 3; c += 1) out[to + c] = (data[from + 2 - c] ?? 0) - (PREPROCESS.meanBGR[c] ?? 0);
    }
  }
  return out;
}

/** The reference: tf.loadLayersModel on the artifact's own model.json, read straight from disk. */
async function loadReference(): Promise<tf.LayersModel> {
  const modelJson = JSON.parse(await readFile(join(modelFolder, 'model.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: tf.io.WeightsManifestConfig;
  };
  const paths = modelJson.weightsManifest.flatMap((group) => group.paths);
  const shards = await Promise.all(paths.map(async (path) => new Uint8Array(await readFile(join(modelFolder, path)))));
  const weightData = shards.map((shard) => shard.slice().buffer);
  const reference = await tf.loadLayersModel({
    load: async () => ({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest.flatMap((group) => group.weights),
      weightData,
    }),
  });
  const embedding = reference.getLayer('avg_pool').output as tf.SymbolicTensor;
  return tf.model({ inputs: reference.inputs, outputs: [embedding, reference.outputs[0] as tf.SymbolicTensor] });
}

async function predict(
  model: tf.LayersModel,
  batch: Float32Array,
  count: number,
): Promise<[Float32Array, Float32Array]> {
  const outputs = tf.tidy(() => model.predict(tf.tensor4d(batch, [count, 224, 224, 3])) as tf.Tensor[]);
  const [embedding, probabilities] = await Promise.all(outputs.map((output) => output.data<'float32'>()));
  tf.dispose(outputs);
  return [embedding as Float32Array, probabilities as Float32Array];
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((max, value, index) => Math.max(max, Math.abs(value - (b[index] ?? Number.NaN))), 0);
}

/** A ReadModelFile over the cache whose model.json is rewritten by `edit`. */
function withEditedModelJson(edit: (json: string) => string): ReadModelFile {
  const read = readModelFileFromDir(cacheDir);
  return async (path) =>
    path === ARTIFACT_LAYOUT.modelJson
      ? new TextEncoder().encode(edit(new TextDecoder().decode(await read(path))))
      : read(path);
}

let loaded: LoadedResNet;

before(async () => {
  await tf.setBackend('wasm');
  await fetchArtifact({ targetDir: cacheDir, ifMissing: true });
  loaded = await loadResNet(resnet50, readModelFileFromDir(cacheDir));
});

after(() => loaded?.model.dispose());

describe('pretrained ResNet-50', () => {
  test('the built model with loaded weights gives the reference embeddings and probabilities within 1e-4 on real photos', async () => {
    const images = await Promise.all(['chelsea.png', 'coffee.png'].map(preprocess));
    const batch = new Float32Array(images.length * 224 * 224 * 3);
    images.forEach((image, index) => {
      batch.set(image, index * image.length);
    });
    const reference = await loadReference();
    try {
      const [refEmbedding, refProbabilities] = await predict(reference, batch, images.length);
      const [embedding, probabilities] = await predict(loaded.model, batch, images.length);
      assert.ok(
        maxAbsDifference(embedding, refEmbedding) <= 1e-4,
        `embedding differs by ${maxAbsDifference(embedding, refEmbedding)}`,
      );
      assert.ok(
        maxAbsDifference(probabilities, refProbabilities) <= 1e-4,
        `probabilities differ by ${maxAbsDifference(probabilities, refProbabilities)}`,
      );
      const top1 = [0, 1].map(
        (row) =>
          loaded.labels[
            tf.tidy(
              () =>
                tf
                  .tensor1d(probabilities.subarray(row * 1000, row * 1000 + 1000))
                  .argMax()
                  .dataSync()[0] ?? -1,
            )
          ],
      );
      assert.match(top1[0] ?? '', /cat/i);
      assert.equal(top1[1], 'espresso');
    } finally {
      reference.dispose();
    }
  });

  test('the published weights are recognised by their digest and get the artifact model id', () => {
    assert.equal(loaded.weightsSha256, ARTIFACT_WEIGHTS_SHA256);
    assert.equal(loaded.modelId, ARTIFACT_MODEL_ID);
  });

  test('the labels are the 1000 ImageNet classes in index order', () => {
    assert.equal(loaded.labels.length, 1000);
    assert.deepEqual([loaded.labels[0], loaded.labels[285], loaded.labels[967]], ['tench', 'Egyptian_cat', 'espresso']);
  });
});

describe('weights that do not fit the spec', () => {
  let tensors: tf.NamedTensorMap;
  let model: tf.LayersModel;

  before(async () => {
    tensors = (await readWeightsFile(readModelFileFromDir(cacheDir), ARTIFACT_LAYOUT.modelJson)).tensors;
    model = buildResNet(resnet50);
  });

  after(() => {
    tf.dispose(Object.values(tensors));
    model.dispose();
  });

  test('a missing tensor is a ModelError naming it, its layer and the expected shape', () => {
    const { 'res3a_branch1/kernel': _dropped, ...rest } = tensors;
    assert.throws(
      () => assignWeightsByName(model, rest, 'test'),
      (error: unknown) => {
        assert.ok(error instanceof ModelError);
        assert.match(
          error.message,
          /missing tensor 'res3a_branch1\/kernel' for layer res3a_branch1 \(expected shape \[1,1,256,512\]\)/,
        );
        return true;
      },
    );
  });

  test('an extra tensor is a ModelError naming it and its shape', () => {
    const extra = tf.zeros([1, 1, 2048, 512]);
    try {
      assert.throws(
        () => assignWeightsByName(model, { ...tensors, 'res6a_branch2a/kernel': extra }, 'test'),
        (error: unknown) => {
          assert.ok(error instanceof ModelError);
          assert.match(error.message, /extra tensor 'res6a_branch2a\/kernel' \(shape \[1,1,2048,512\]\)/);
          return true;
        },
      );
    } finally {
      extra.dispose();
    }
  });

  test('a wrongly shaped tensor is a ModelError naming it with the received and expected shapes', () => {
    const wrong = tf.zeros([999]);
    try {
      assert.throws(
        () => assignWeightsByName(model, { ...tensors, 'fc1000/bias': wrong }, 'test'),
        (error: unknown) => {
          assert.ok(error instanceof ModelError);
          assert.match(error.message, /tensor 'fc1000\/bias' of layer fc1000 has shape \[999\], expected \[1000\]/);
          return true;
        },
      );
    } finally {
      wrong.dispose();
    }
  });

  test('a renamed tensor in model.json makes loadResNet fail with a ModelError naming both names', async () => {
    const read = withEditedModelJson((json) => json.replace('"res4b_branch2a/kernel"', '"res4b_branch2x/kernel"'));
    await assert.rejects(loadResNet(resnet50, read), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.match(error.message, /missing tensor 'res4b_branch2a\/kernel'/);
      assert.match(error.message, /extra tensor 'res4b_branch2x\/kernel'/);
      return true;
    });
  });

  test('a truncated shard is a ModelError naming the shards and both byte counts', async () => {
    const read = readModelFileFromDir(cacheDir);
    const truncated: ReadModelFile = async (path) =>
      path.endsWith('shard25of25.bin') ? (await read(path)).subarray(0, 1000) : read(path);
    await assert.rejects(
      loadResNet(resnet50, truncated),
      /group1-shard1of25.bin..group1-shard25of25.bin of ResNet50\/model.json hold \d+ bytes, expected 102546848/,
    );
  });

  test('a model.json whose BatchNorm epsilon differs from the spec is a ModelError', async () => {
    await assert.rejects(
      loadResNet({ ...resnet50, batchNormEpsilon: 1.001e-5 }, readModelFileFromDir(cacheDir)),
      (error: unknown) => {
        assert.ok(error instanceof ModelError);
        assert.match(error.message, /bn_conv1 has epsilon 0.001, but spec resnet50 builds epsilon 0.00001001/);
        return true;
      },
    );
  });
});
