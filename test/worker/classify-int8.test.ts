// `resnet-batch classify --precision int8` as a user runs it (bin/resnet-batch.js, real model,
// fixture images), next to the same command at fp32: the int8 model must name the same top-1
// class for every fixture photo, and a broken file must stay an error line. The int8 graph comes
// from the cache (test/model/model-int8-graph.test.ts builds it first; alone, this file builds it).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CliResult, runCli } from '../harness/cli.ts';

const imagesDir = fileURLToPath(new URL('../fixtures/images/', import.meta.url));
const PHOTOS = ['astronaut.png', 'chelsea.png', 'coffee.png', 'horse.png', 'rocket.jpg'];
/** Leaves the engine, model and precision to the flags. */
const ENV = { ENGINE: undefined, MODEL_URI: undefined, PRECISION: undefined, LOG_LEVEL: 'warn' };

interface JsonLine {
  file: string;
  top?: { label: string; index: number; score: number }[];
  error?: string;
}

function parseLines(result: CliResult): Map<string, JsonLine> {
  const lines = result.stdout.split('\n').filter((line) => line !== '');
  return new Map(lines.map((line) => JSON.parse(line) as JsonLine).map((line) => [line.file, line]));
}

describe('resnet-batch classify --precision int8', () => {
  let fp32: CliResult;
  let int8: CliResult;

  before(async () => {
    const files = [...PHOTOS, 'truncated.jpg'].map((name) => join(imagesDir, name));
    fp32 = await runCli(['classify', '--json', '--top', '5', '--engine', 'onnx', ...files], ENV, 300_000);
    int8 = await runCli(['classify', '--json', '--top', '5', '--precision', 'int8', ...files], ENV, 300_000);
  });

  test('gives the same top-1 class as fp32 for every fixture photo', () => {
    assert.equal(int8.code, 2, int8.stderr); // 2: truncated.jpg failed, the rest classified
    const reference = parseLines(fp32);
    const quantized = parseLines(int8);
    for (const name of PHOTOS) {
      const file = join(imagesDir, name);
      assert.equal(quantized.get(file)?.top?.[0]?.label, reference.get(file)?.top?.[0]?.label, name);
    }
  });

  test('keeps the fp32 top-1 within its top 5, with a score close to fp32', () => {
    const reference = parseLines(fp32);
    const quantized = parseLines(int8);
    for (const name of PHOTOS) {
      const file = join(imagesDir, name);
      const best = reference.get(file)?.top?.[0];
      const same = quantized.get(file)?.top?.find((entry) => entry.index === best?.index);
      assert.ok(
        same && best && Math.abs(same.score - best.score) < 0.15,
        `${name}: ${JSON.stringify(same)} vs ${JSON.stringify(best)}`,
      );
    }
  });

  test('still reports truncated.jpg as an error line', () => {
    const line = parseLines(int8).get(join(imagesDir, 'truncated.jpg'));
    assert.match(line?.error ?? '', /could not decode the jpeg image/);
  });

  test('refuses an engine that runs fp32 only, naming the ones that run int8', async () => {
    const result = await runCli(
      ['classify', '--engine', 'tfjs-wasm', '--precision', 'int8', join(imagesDir, 'coffee.png')],
      ENV,
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /CONFIG: engine tfjs-wasm does not run int8 models.*use --engine onnx or auto/);
  });
});
