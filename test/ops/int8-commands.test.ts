// `resnet-batch calibrate` and `evaluate` as a user runs them (bin/resnet-batch.js, the real model,
// fixture photos), on a local folder and on an s3:// prefix of a real S3-protocol server: the
// model folder calibrate writes is one --model names, evaluate's --json is a script's input, and a
// calibrate stopped half-way leaves no int8 model behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../shared/storage/open-store.ts';
import { runCli } from '../harness/cli.ts';
import { FIXTURES_DIR, fixturePath, readFixture } from '../harness/fixtures.ts';
import { newBucket, s3Env, s3StorageConfig, useS3 } from '../harness/s3-server.ts';
import { setUp } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';

const cliEntry = fileURLToPath(new URL('../../bin/resnet-batch.js', import.meta.url));
const PHOTOS = ['astronaut.png', 'chelsea.png', 'coffee.png', 'horse.png', 'rocket.jpg'];
const ENV = { ENGINE: undefined, MODEL_URI: undefined, PRECISION: undefined, LOG_LEVEL: 'warn' };
const TIMEOUT_MS = 300_000;

interface CalibrateJson {
  model_uri: string;
  model_id: string;
  images: number;
  refused: number;
}

interface EvaluateJson {
  images: number;
  undecodable: number;
  models: { fp32: string; other: string };
  top1Agreement: number;
  fp32Top1InInt8Top5: number;
  cosineMean: number;
  cosineP5: number;
  cosineMin: number;
}

const dir = useTempDir('ops-int8-');
let photos: string;

setUp(async () => {
  photos = join(dir.path, 'photos');
  await mkdir(photos);
  for (const name of PHOTOS) await copyFile(fixturePath(name), join(photos, name));
});

/** The figures are shares and cosines of a sane comparison (4 calibration images make a rough model: no closer bound). */
function assertComparison(result: EvaluateJson): void {
  for (const share of [result.top1Agreement, result.fp32Top1InInt8Top5]) assert.ok(share >= 0 && share <= 1);
  assert.ok(
    result.cosineMin > 0.5 && result.cosineMin <= result.cosineP5 && result.cosineP5 <= result.cosineMean,
    JSON.stringify(result),
  );
  assert.ok(result.cosineMean <= 1 + 1e-6, JSON.stringify(result));
}

describe('calibrate and evaluate on a local folder', () => {
  let calibrated: CalibrateJson;

  before(async () => {
    const result = await runCli(
      ['calibrate', photos, '--images', '4', '--output', join(dir.path, 'model'), '--json'],
      ENV,
      TIMEOUT_MS,
    );
    assert.equal(result.code, 0, result.stderr);
    calibrated = JSON.parse(result.stdout) as CalibrateJson;
  });

  test('calibrate writes a model folder with the weights, the int8 graph and its calibration record', async () => {
    assert.equal(calibrated.images, 4);
    assert.match(calibrated.model_id, /\/int8-[0-9a-f]{12}$/);
    for (const file of ['ResNet50/model.json', 'assets/labels.json', 'int8/model.onnx'])
      await access(join(dir.path, 'model', file));
    const record = JSON.parse(await readFile(join(dir.path, 'model', 'int8/calibration.json'), 'utf8')) as {
      calibration: { images: number; source: string };
    };
    assert.equal(record.calibration.images, 4);
    assert.ok(record.calibration.source.endsWith('/photos'), record.calibration.source);
  });

  test('--model names the calibrated folder at int8, and the same folder still runs at fp32', async () => {
    for (const precision of ['int8', 'fp32']) {
      const result = await runCli(
        [
          'classify',
          '--json',
          '--model',
          join(dir.path, 'model'),
          '--precision',
          precision,
          join(photos, 'coffee.png'),
        ],
        ENV,
        TIMEOUT_MS,
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal((JSON.parse(result.stdout) as { top: { label: string }[] }).top[0]?.label, 'espresso');
    }
  });

  test('evaluate --json compares fp32 and the calibrated int8 model on the folder, leaving out what it cannot decode', async () => {
    const result = await runCli(
      ['evaluate', FIXTURES_DIR, '--images', '8', '--model', join(dir.path, 'model'), '--json'],
      ENV,
      TIMEOUT_MS,
    );
    assert.equal(result.code, 0, result.stderr);
    const evaluated = JSON.parse(result.stdout) as EvaluateJson;
    // The first 8 fixtures in name order include multipage_rgb.tif, which libvips cannot read.
    assert.deepEqual({ images: evaluated.images, undecodable: evaluated.undecodable }, { images: 7, undecodable: 1 });
    assert.equal(evaluated.models.other, calibrated.model_id);
    assertComparison(evaluated);
  });

  test('a calibrate stopped with Ctrl-C while calibrating leaves no int8 model in its output', async () => {
    const output = join(dir.path, 'interrupted');
    const child = spawn(process.execPath, [cliEntry, 'calibrate', photos, '--images', '4', '--output', output], {
      env: { ...process.env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/calibrating the int8 model/.test(stderr)) resolve();
      });
      child.once('close', () => resolve());
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      else child.once('close', (exitCode) => resolve(exitCode));
    });
    assert.notEqual(code, 0, stderr);
    await assert.rejects(access(join(output, 'int8/calibration.json')));
    await assert.rejects(access(join(output, 'int8/model.onnx')));
  });
});

describe('calibrate and evaluate on an s3:// prefix', () => {
  const s3 = useS3();
  let bucket: string;

  before(async () => {
    bucket = await newBucket(s3, 'int8');
    const store = openStore(`s3://${bucket}/`, s3StorageConfig(s3));
    try {
      for (const name of PHOTOS) await store.write(`s3://${bucket}/photos/${name}`, await readFixture(name));
    } finally {
      await store.close();
    }
  });

  test('calibrate reads the prefix and writes the model folder under another prefix, which evaluate then runs', async () => {
    const env = { ...ENV, ...s3Env(s3) };
    const calibrate = await runCli(
      ['calibrate', `s3://${bucket}/photos/`, '--images', '4', '--output', `s3://${bucket}/models/mine/`, '--json'],
      env,
      TIMEOUT_MS,
    );
    assert.equal(calibrate.code, 0, calibrate.stderr);
    const calibrated = JSON.parse(calibrate.stdout) as CalibrateJson;
    assert.equal(calibrated.images, 4);

    const evaluate = await runCli(
      ['evaluate', `s3://${bucket}/photos/`, '--images', '5', '--model', `s3://${bucket}/models/mine/`, '--json'],
      env,
      TIMEOUT_MS,
    );
    assert.equal(evaluate.code, 0, evaluate.stderr);
    const evaluated = JSON.parse(evaluate.stdout) as EvaluateJson;
    assert.equal(evaluated.images, 5);
    assert.equal(evaluated.models.other, calibrated.model_id);
    assertComparison(evaluated);
  });
});
