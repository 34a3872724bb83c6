// `resnet-batch classify` run as a real child process (bin/resnet-batch.js) on the fixture
// images with the real model: one --json run over the whole folder that the tests read, one run
// on a single good file, and one fatal run. Each run loads the model (~5-8 s); the folder run
// classifies 9 images (~3 s on wasm).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const imagesDir = fileURLToPath(new URL('../fixtures/images/', import.meta.url));
const CAT_CLASSES = ['Egyptian_cat', 'tabby', 'tiger_cat'];
const RUN_TIMEOUT_MS = 180_000;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface JsonLine {
  file: string;
  top?: { label: string; index: number; score: number }[];
  error?: string;
}

/** Runs the CLI with an environment that does not choose the engine or model for it. */
function runCli(args: string[]): Promise<CliRun> {
  const env = { ...process.env };
  delete env.ENGINE;
  delete env.MODEL_URI;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/resnet-batch.js'), ...args], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`resnet-batch ${args.join(' ')} did not finish within ${RUN_TIMEOUT_MS} ms; stderr:\n${stderr}`),
      );
    }, RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('resnet-batch classify --json on the fixture folder', () => {
  let run: CliRun;
  const lines = new Map<string, JsonLine>();

  const line = (name: string): JsonLine => {
    const found = lines.get(join(imagesDir, name));
    assert.ok(found, `no line for ${name}; stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    return found;
  };

  const topLabel = (name: string): string => {
    const found = line(name);
    assert.equal(found.error, undefined, `${name} failed: ${found.error}`);
    return found.top?.[0]?.label ?? '';
  };

  before(async () => {
    run = await runCli(['classify', '--json', '--top', '3', imagesDir]);
    for (const text of run.stdout.split('\n').filter((entry) => entry !== '')) {
      const parsed = JSON.parse(text) as JsonLine;
      lines.set(parsed.file, parsed);
    }
  });

  test('every image file of the folder gets exactly one JSON line, and non-image files are left out', async () => {
    const files = (await readdir(imagesDir)).filter((name) => !name.startsWith('.') && name !== 'README.md');
    assert.equal(run.stdout.trim().split('\n').length, files.length);
    assert.deepEqual([...lines.keys()].sort(), files.map((name) => join(imagesDir, name)).sort());
  });

  test('chelsea.png gets a cat class as its top-1 label', () => {
    assert.ok(CAT_CLASSES.includes(topLabel('chelsea.png')), `top-1 was ${topLabel('chelsea.png')}`);
  });

  test('coffee.png gets espresso as its top-1 label', () => {
    assert.equal(topLabel('coffee.png'), 'espresso');
  });

  test('truncated.jpg gets an error line with the decoder reason and no labels', () => {
    const found = line('truncated.jpg');
    assert.deepEqual(Object.keys(found).sort(), ['error', 'file']);
    assert.match(found.error ?? '', /premature end of JPEG image/);
  });

  test('the animated GIF, the 16-bit TIFF and both palette PNGs classify without error', () => {
    for (const name of [
      'no_time_for_that_tiny.gif',
      'chessboard_GRAY_U16.tif',
      'palette_color.png',
      'green_palette.png',
    ]) {
      const found = line(name);
      assert.equal(found.error, undefined, `${name} failed: ${found.error}`);
      assert.equal(found.top?.length, 3, name);
    }
  });

  test('--top 3 gives three entries of label, class index and score, best first', () => {
    const top = line('coffee.png').top ?? [];
    assert.equal(top.length, 3);
    for (const entry of top) {
      assert.deepEqual(Object.keys(entry).sort(), ['index', 'label', 'score']);
      assert.equal(typeof entry.label, 'string');
      assert.ok(Number.isInteger(entry.index) && entry.index >= 0 && entry.index < 1000, `index ${entry.index}`);
      assert.ok(entry.score >= 0 && entry.score <= 1, `score ${entry.score}`);
    }
    assert.equal(top[0]?.label, 'espresso');
    assert.equal(top[0]?.index, 967);
    assert.ok((top[0]?.score ?? 0) >= (top[1]?.score ?? 0) && (top[1]?.score ?? 0) >= (top[2]?.score ?? 0));
  });

  test('the exit code is 2 because some files failed', () => {
    assert.equal(run.code, 2, run.stderr);
  });
});

describe('resnet-batch classify exit codes', () => {
  test('one good file prints its labels as text and exits with 0', async () => {
    const file = join(imagesDir, 'coffee.png');
    const run = await runCli(['classify', file]);
    assert.equal(run.code, 0, run.stderr);
    const [header, ...entries] = run.stdout.trimEnd().split('\n');
    assert.equal(header, file);
    assert.equal(entries.length, 5);
    assert.match(entries[0] ?? '', /^\s+\d+\.\d\d%\s+espresso \(967\)$/);
  });

  test('a --model folder that does not exist is fatal: exit 1 and a message naming the folder', async () => {
    const missing = join(repoRoot, 'no-such-model-folder');
    const run = await runCli(['classify', '--json', '--model', missing, join(imagesDir, 'coffee.png')]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^resnet-batch: MODEL: /);
    assert.ok(run.stderr.includes(missing), run.stderr);
    assert.match(run.stderr, /fetch-model|--model/);
  });
});
