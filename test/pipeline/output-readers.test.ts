// The output as the ecosystem's readers take it (issue 10). One `resnet-batch run` over a .jsonl
// manifest whose lines carry a caption and an id: copies of two photos interleaved with an empty
// file, a text file and a truncated JPEG, in shards of 5, so failures sit between successes in
// every shard. Then the output is read the way embedding-reader's parquet_npy reader does (zip
// metadata rows with .npy rows, no index column), by DuckDB, and by the README's own snippets:
// a misaligned row would carry the other photo's vector.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetReadObjects } from 'hyparquet';
import { parse as parseNpy } from 'npyjs';
import { PACKAGED_MODEL } from '../../shared/inference/model-ref.ts';
import type { RunManifest } from '../../shared/output/output-format.ts';
import { decodeImage } from '../../worker/decode-image.ts';
import { openEngine } from '../../worker/engines/open-engine.ts';
import { type CliResult, runCli } from '../harness/cli.ts';
import { fixturePath, readFixture } from '../harness/fixtures.ts';
import { setUp } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

const readme = fileURLToPath(new URL('../../README.md', import.meta.url));

/** The inputs in manifest order: two photos, copied many times, and three broken files between them. */
const INPUTS = [
  'chelsea',
  'empty',
  'coffee',
  'chelsea',
  'text',
  'coffee',
  'truncated',
  'chelsea',
  'coffee',
  'empty',
  'chelsea',
  'text',
  'coffee',
  'chelsea',
] as const;
const PHOTOS = { chelsea: 'chelsea.png', coffee: 'coffee.png' } as const;
const BROKEN = new Set(['empty', 'text', 'truncated']);
const RUN = 'aligned-run';

const dir = useTempDir('output-readers-');
let runDir: string;
let result: CliResult;
/** Input file name -> its manifest line's caption. */
const captions = new Map<string, string>();
/** Photo -> its reference vector, computed in this process with the same engine and model. */
const reference = new Map<string, Float32Array>();

setUp(async () => {
  const inputs = join(dir.path, 'inputs');
  await mkdir(inputs);
  const lines: string[] = [];
  for (const [index, kind] of INPUTS.entries()) {
    const name = `img-${String(index).padStart(2, '0')}-${kind}.${kind === 'truncated' || kind === 'empty' || kind === 'text' ? 'jpg' : 'png'}`;
    if (kind === 'chelsea' || kind === 'coffee') await copyFile(fixturePath(PHOTOS[kind]), join(inputs, name));
    else if (kind === 'truncated') await copyFile(fixturePath('truncated.jpg'), join(inputs, name));
    else if (kind === 'text') await writeFile(join(inputs, name), 'not an image, just text\n');
    else await writeFile(join(inputs, name), '');
    const caption = `${kind} number ${index}, "quoted" and ünïcode`;
    captions.set(name, caption);
    lines.push(JSON.stringify({ uri: `inputs/${name}`, caption, id: index }));
  }
  await writeFile(join(dir.path, 'list.jsonl'), `${lines.join('\n')}\n`);

  const out = join(dir.path, 'demo-output');
  result = await runCli(
    ['run', join(dir.path, 'list.jsonl'), '--output', out, '--run', RUN, '--shard-size', '5', '--engine', 'onnx'],
    { REDIS_URL: undefined, QUEUE_PREFIX: uniqueName('readers'), LOG_LEVEL: 'warn', METRICS_PORT: '0' },
    240_000,
  );
  runDir = join(out, RUN);

  const { engine } = await openEngine({ choice: 'onnx', modelRef: PACKAGED_MODEL });
  try {
    for (const [photo, file] of Object.entries(PHOTOS)) {
      const decoded = await decodeImage(await readFixture(file));
      reference.set(photo, (await engine.infer(decoded.pixels, 1)).embeddings.slice());
    }
  } finally {
    await engine.dispose();
  }
});

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i += 1) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

/** The photo an input name is a copy of, or null for a broken input. */
function photoOf(uri: string): string | null {
  const kind = /img-\d+-([a-z]+)\./.exec(uri)?.[1] ?? '';
  return BROKEN.has(kind) ? null : kind;
}

async function filesIn(folder: string, extension: string): Promise<string[]> {
  return (await readdir(join(runDir, folder))).filter((name) => name.endsWith(extension)).sort();
}

const arrayBufferOf = (bytes: Buffer): ArrayBuffer =>
  bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

describe('a run over a .jsonl manifest with captions, photos interleaved with broken files, shards of 5', () => {
  test('run exits 2: every input has a row, some of them error rows', () => {
    assert.equal(result.code, 2, result.stderr);
  });

  test("read as embedding-reader's parquet_npy reader does, every metadata row's vector is its own photo's vector", async () => {
    // Its reader: list embeddings/*.npy and metadata/*.parquet apart, sort each, zip by position,
    // take each .npy's row count from its header and slice the metadata table alongside it.
    const npys = await filesIn('embeddings', '.npy');
    const parquets = await filesIn('metadata', '.parquet');
    assert.equal(npys.length, parquets.length);
    let rows = 0;
    for (const [index, npyName] of npys.entries()) {
      const npy = parseNpy(arrayBufferOf(await readFile(join(runDir, 'embeddings', npyName))));
      const meta = await parquetReadObjects({
        file: arrayBufferOf(await readFile(join(runDir, 'metadata', parquets[index]!))),
      });
      assert.equal(meta.length, npy.shape[0], `${parquets[index]}: ${meta.length} rows, ${npy.shape[0]} vectors`);
      for (const [row, record] of meta.entries()) {
        const vector = (npy.data as Float32Array).subarray(row * 2048, (row + 1) * 2048);
        const photo = photoOf(String(record.uri));
        assert.ok(photo !== null, `a broken input has a metadata row: ${record.uri}`);
        const own = cosine(vector, reference.get(photo)!);
        const other = cosine(vector, reference.get(photo === 'chelsea' ? 'coffee' : 'chelsea')!);
        assert.ok(own > 0.9999, `${record.uri}: cosine to its own photo ${own}`);
        assert.ok(other < 0.9, `${record.uri}: cosine to the other photo ${other}`);
        rows += 1;
      }
    }
    assert.equal(rows, INPUTS.filter((kind) => !BROKEN.has(kind)).length);
  });

  test('failures are in errors/, and each input appears exactly once across metadata/ and errors/', async () => {
    const seen: string[] = [];
    for (const folder of ['metadata', 'errors']) {
      for (const name of await filesIn(folder, '.parquet')) {
        const rows = await parquetReadObjects({ file: arrayBufferOf(await readFile(join(runDir, folder, name))) });
        for (const row of rows) {
          const uri = String(row.uri);
          seen.push(uri.slice(uri.lastIndexOf('/') + 1));
          assert.equal(folder === 'errors', photoOf(uri) === null, `${uri} is in ${folder}/`);
          if (folder === 'errors') assert.match(String(row.error), /^(EMPTY|UNSUPPORTED_FORMAT|DECODE_FAILED): /);
        }
      }
    }
    assert.deepEqual(seen.sort(), [...captions.keys()].sort());
  });

  test('the caption and id of each manifest line are columns of its row, in metadata/ and in errors/', async () => {
    for (const folder of ['metadata', 'errors']) {
      for (const name of await filesIn(folder, '.parquet')) {
        const rows = await parquetReadObjects({ file: arrayBufferOf(await readFile(join(runDir, folder, name))) });
        for (const row of rows) {
          const file = String(row.uri).slice(String(row.uri).lastIndexOf('/') + 1);
          assert.equal(row.caption, captions.get(file), file);
          assert.equal(Number(row.id), Number(/img-(\d+)/.exec(file)?.[1]), file);
        }
      }
    }
  });

  test('the manifest says raw vectors of width 2048 and lists the carried columns with their types', async () => {
    const manifest = JSON.parse(await readFile(join(runDir, '_manifest.json'), 'utf8')) as RunManifest;
    assert.deepEqual(manifest.embeddings, { dim: 2048, dtype: 'float32', normalization: 'none' });
    assert.deepEqual(manifest.carried_columns, [
      { name: 'caption', type: 'string' },
      { name: 'id', type: 'int64' },
    ]);
    assert.equal(manifest.format_version, 2);
  });

  test('DuckDB reads metadata/*.parquet and errors/*.parquet with the expected column types, carried columns included', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    try {
      const types = async (folder: string) =>
        Object.fromEntries(
          (await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${join(runDir, folder)}/*.parquet')`))
            .getRowObjects()
            .map((row) => [String(row.column_name), String(row.column_type)]),
        );
      assert.deepEqual(await types('metadata'), {
        uri: 'VARCHAR',
        etag: 'VARCHAR',
        size_bytes: 'BIGINT',
        width: 'INTEGER',
        height: 'INTEGER',
        top_labels: 'VARCHAR[]',
        top_indices: 'INTEGER[]',
        top_scores: 'FLOAT[]',
        model: 'VARCHAR',
        engine: 'VARCHAR',
        processed_at: 'TIMESTAMP WITH TIME ZONE',
        caption: 'VARCHAR',
        id: 'BIGINT',
      });
      assert.deepEqual(await types('errors'), {
        uri: 'VARCHAR',
        etag: 'VARCHAR',
        size_bytes: 'BIGINT',
        error: 'VARCHAR',
        processed_at: 'TIMESTAMP WITH TIME ZONE',
        caption: 'VARCHAR',
        id: 'BIGINT',
      });
    } finally {
      connection.closeSync();
    }
  });
});

describe("the README's output snippets, run as written on that output", () => {
  /** The fenced code block of `language` that follows `marker` in the README's output section. */
  async function snippet(language: string, marker: string): Promise<string> {
    const text = await readFile(readme, 'utf8');
    const start = text.indexOf(marker);
    assert.ok(start >= 0, `README has no '${marker}'`);
    const block = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(text.slice(start));
    assert.ok(block?.[1], `README has no ${language} block after '${marker}'`);
    return block[1].replaceAll('RUN_ID', RUN);
  }

  test('the Node snippet prints each metadata row with its own vector', async () => {
    const script = join(dir.path, 'snippet.mjs');
    await writeFile(script, await snippet('js', 'Node (the libraries this project uses)'));
    // The snippet imports this project's libraries, as a user's script beside its node_modules would.
    await symlink(
      fileURLToPath(new URL('../../node_modules', import.meta.url)),
      join(dir.path, 'node_modules'),
      'dir',
    ).catch(() => undefined);
    const ran = spawnSync(process.execPath, [script], { cwd: dir.path, encoding: 'utf8' });
    assert.equal(ran.status, 0, ran.stderr);
    const lines = ran.stdout.trim().split('\n');
    assert.equal(lines.length, INPUTS.filter((kind) => !BROKEN.has(kind)).length, ran.stdout);
    for (const line of lines) assert.match(line, /img-\d+-(chelsea|coffee)\.png \S+ 2048/);
  });

  test('the DuckDB SQL snippet counts the images by top label, and the failures by code', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    try {
      const sql = (await snippet('sql', 'DuckDB')).split(';').filter((statement) => statement.trim() !== '');
      const labels = (
        await connection.runAndReadAll(sql[0]!.replaceAll('demo-output', join(dir.path, 'demo-output')))
      ).getRowObjects();
      assert.equal(
        labels.reduce((sum, row) => sum + Number(row.images), 0),
        INPUTS.filter((kind) => !BROKEN.has(kind)).length,
      );
      const errors = (
        await connection.runAndReadAll(sql[1]!.replaceAll('demo-output', join(dir.path, 'demo-output')))
      ).getRowObjects();
      assert.equal(
        errors.reduce((sum, row) => sum + Number(row.inputs), 0),
        INPUTS.filter((kind) => BROKEN.has(kind)).length,
      );
    } finally {
      connection.closeSync();
    }
  });

  test('the Python snippet loads every vector with numpy, as many as there are metadata rows', async (t) => {
    const python = ['/usr/bin/python3', 'python3'].find(
      (candidate) => spawnSync(candidate, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0,
    );
    if (python === undefined) {
      t.skip('no python3 with numpy here; .ci/run installs Debian python3-numpy');
      return;
    }
    const code = await snippet('python', 'Python (numpy');
    const ran = spawnSync(python, ['-c', code], { cwd: dir.path, encoding: 'utf8' });
    assert.equal(ran.status, 0, ran.stderr);
    assert.match(ran.stdout, new RegExp(`\\(${INPUTS.filter((kind) => !BROKEN.has(kind)).length}, 2048\\)`));
  });
});
