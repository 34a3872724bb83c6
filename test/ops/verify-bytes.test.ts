import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RunManifest } from '../../shared/output/output-format.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { type CliResult, runCli } from '../harness/cli.ts';
import { s3Env, s3StorageConfig, startS3, type TestS3 } from '../harness/s3-server.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * `resnet-batch verify <output>/<run>` proves the bytes of the location it is given (issue 19):
 * one real `run` of the fixture images (three shards of 4), then copies of its folder, each
 * damaged one way, verified with no Redis anywhere. Before, verify read the copy's `_run.json`
 * and checked the original output it names, and compared counts, not bytes.
 */

const fixtures = fileURLToPath(new URL('../fixtures/images/', import.meta.url));
// No REDIS_URL: verify of a finished run needs none.
const env = { REDIS_URL: undefined, QUEUE_PREFIX: uniqueName('verify'), LOG_LEVEL: 'warn', METRICS_PORT: '0' };
let dir: string;
let run: string;
let s3: TestS3;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'verify-bytes-'));
  const [result] = await Promise.all([
    runCli(['run', fixtures, '--output', join(dir, 'out'), '--shard-size', '4', '--engine', 'tfjs-wasm'], env, 240_000),
    startS3().then((server) => (s3 = server)),
  ]);
  // 2: the fixtures' two undecodable images are error rows; every input has its row.
  assert.equal(result.code, 2, result.stderr);
  run = result.stdout.trim();
});

after(async () => {
  await s3?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A copy of the run's folder under a new output root, changed by `damage`; returns `<root>/<run>`. */
async function damagedCopy(name: string, damage: (runFolder: string) => Promise<void>): Promise<string> {
  const runFolder = join(dir, name, run);
  await cp(join(dir, 'out', run), runFolder, { recursive: true });
  await damage(runFolder);
  return runFolder;
}

function verify(location: string, extraEnv: Record<string, string> = {}, json = false): Promise<CliResult> {
  return runCli(['verify', location, ...(json ? ['--json'] : [])], { ...env, ...extraEnv });
}

/** The .npy of the first shard with at least two vectors, and where its data starts. */
async function npyWithTwoVectors(runFolder: string): Promise<{ file: string; dataStart: number; rowBytes: number }> {
  for (const name of (await readdir(join(runFolder, 'embeddings'))).sort()) {
    const bytes = await readFile(join(runFolder, 'embeddings', name));
    const headerLength = bytes.readUInt16LE(8);
    const rows = Number(/'shape': \((\d+), (\d+)\)/.exec(bytes.toString('latin1', 10, 10 + headerLength))?.[1]);
    if (rows >= 2)
      return { file: join(runFolder, 'embeddings', name), dataStart: 10 + headerLength, rowBytes: 2048 * 4 };
  }
  throw new Error('no shard with two vectors');
}

/** Rows 0 and 1 of a .npy exchanged: same size, same values, another order. */
function swapFirstTwoVectors(bytes: Buffer, dataStart: number, rowBytes: number): Buffer {
  const swapped = Buffer.from(bytes);
  bytes.copy(swapped, dataStart, dataStart + rowBytes, dataStart + 2 * rowBytes);
  bytes.copy(swapped, dataStart + rowBytes, dataStart, dataStart + rowBytes);
  assert.notDeepEqual(swapped, bytes, 'the two vectors differ');
  return swapped;
}

describe('verify <output>/<run> on a folder', () => {
  test('a clean copy verifies ok, every part matching its sha256, without Redis', async () => {
    const result = await verify(await damagedCopy('clean', async () => undefined));
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /ok: every input has exactly one row/);
    // 3 shards of 3 parts each, and the manifest itself.
    assert.match(result.stdout, /bytes {5}10 parts match their sha256\n/);
  });

  test('a copy with one shard deleted exits 2 naming its parts', async () => {
    const location = await damagedCopy('deleted-shard', async (runFolder) => {
      for (const part of ['embeddings/part-00001.npy', 'metadata/part-00001.parquet', 'errors/part-00001.parquet'])
        await rm(join(runFolder, part));
    });
    const result = await verify(location);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(
      result.stdout,
      /shard 1 is not committed \(errors\/part-00001.parquet, its commit marker, is missing\)/,
    );
    assert.match(result.stdout, /_manifest.json counts .* the commit markers on storage count/);
  });

  test("a committed shard's deleted .npy exits 2 naming it", async () => {
    const result = await verify(
      await damagedCopy('deleted-npy', (runFolder) => rm(join(runFolder, 'embeddings/part-00002.npy'))),
    );
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stdout, /missing: embeddings\/part-00002.npy is missing, though shard 2 is committed/);
  });

  test('two vectors swapped inside a .npy exit 2 naming the part', async () => {
    let swappedName = '';
    const location = await damagedCopy('swapped', async (runFolder) => {
      const npy = await npyWithTwoVectors(runFolder);
      swappedName = relative(runFolder, npy.file);
      await writeFile(npy.file, swapFirstTwoVectors(await readFile(npy.file), npy.dataStart, npy.rowBytes));
    });
    const result = await verify(location, {}, true);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout) as { problems: { damaged: number }; details: string[] };
    assert.equal(report.problems.damaged, 1);
    assert.ok(
      report.details.some((detail) => detail.startsWith(`damaged: ${swappedName}: its bytes do not match`)),
      report.details.join('\n'),
    );
  });

  test('a deleted _manifest.json exits 2 naming it', async () => {
    const result = await verify(await damagedCopy('no-manifest', (runFolder) => rm(join(runFolder, '_manifest.json'))));
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stdout, /missing: _manifest.json is missing/);
  });

  test('an edited manifest count exits 2 naming the manifest', async () => {
    const location = await damagedCopy('edited-manifest', async (runFolder) => {
      const file = join(runFolder, '_manifest.json');
      const manifest = JSON.parse(await readFile(file, 'utf8')) as RunManifest;
      manifest.images.ok += 1;
      await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
    });
    const result = await verify(location);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stdout, /damaged: _manifest.json was edited or damaged/);
  });

  test('an extra part that is no part of the run exits 2 naming it', async () => {
    const location = await damagedCopy('extra-part', (runFolder) =>
      cp(join(runFolder, 'metadata/part-00000.parquet'), join(runFolder, 'metadata/part-00007.parquet')),
    );
    const result = await verify(location);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(
      result.stdout,
      /unexpected: metadata\/part-00007.parquet: shard 7 is on storage, but the run has 3 shards/,
    );
  });

  test('a manifest written before checksums still verifies, its parts counted as unverified bytes', async () => {
    const location = await damagedCopy('old-manifest', async (runFolder) => {
      const file = join(runFolder, '_manifest.json');
      const {
        parts_sha256: _parts,
        manifest_sha256: _digest,
        ...old
      } = JSON.parse(await readFile(file, 'utf8')) as RunManifest;
      await writeFile(file, `${JSON.stringify(old, null, 2)}\n`);
    });
    const result = await verify(location);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    // The markers still name the data parts' sums; the markers and the manifest have none.
    assert.match(result.stdout, /bytes {5}6 parts match their sha256, 4 unverified bytes/);
  });
});

describe('verify s3://<bucket>/<output>/<run>', () => {
  test('a copy on S3 verifies ok, and exits 2 naming the .npy once two of its vectors are swapped', async () => {
    const bucket = uniqueName('bkt');
    await s3.createBucket(bucket);
    const store = openStore(`s3://${bucket}/`, s3StorageConfig(s3));
    const local = join(dir, 'out', run);
    try {
      for (const path of await readdir(local, { recursive: true, withFileTypes: true })) {
        if (!path.isFile()) continue;
        const file = join(path.parentPath, path.name);
        await store.write(`s3://${bucket}/copy/${run}/${relative(local, file)}`, await readFile(file));
      }
      const location = `s3://${bucket}/copy/${run}`;
      const clean = await verify(location, s3Env(s3));
      assert.equal(clean.code, 0, clean.stdout + clean.stderr);

      const npy = await npyWithTwoVectors(local);
      const name = relative(local, npy.file);
      const swapped = swapFirstTwoVectors(await readFile(npy.file), npy.dataStart, npy.rowBytes);
      await store.write(`s3://${bucket}/copy/${run}/${name}`, swapped);
      const damaged = await verify(location, s3Env(s3));
      assert.equal(damaged.code, 2, damaged.stdout + damaged.stderr);
      assert.ok(damaged.stdout.includes(`damaged: ${name}: its bytes do not match`), damaged.stdout);
    } finally {
      await store.close();
    }
  });
});
