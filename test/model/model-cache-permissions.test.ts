// The images' cache layout, reproduced outside Docker with the same permissions: a cache root
// filled at build time (`npm run prepare-model`) by its owner, and a worker run by another user,
// which may read that cache but not write it. Here the cache is handed to nobody and the worker
// runs as root stripped of every capability (util-linux's setpriv), so file permissions bind it
// as they bind the images' `node` user, while it can still read this checkout wherever CI put it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { artifactCacheDir } from '../../model/model-cache.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const photo = fileURLToPath(new URL('../fixtures/images/coffee.png', import.meta.url));
const NO_CAPABILITIES = ['--bounding-set=-all', '--inh-caps=-all'];

/** `resnet-batch classify --engine onnx <photo>` without capabilities, with `env`. */
function classifyUnprivileged(env: Record<string, string>) {
  return spawnSync(
    'setpriv',
    [...NO_CAPABILITIES, process.execPath, join(root, 'bin/resnet-batch.js'), 'classify', '--engine', 'onnx', photo],
    { env: { PATH: process.env.PATH, HOME: '/tmp', ...env }, encoding: 'utf8' },
  );
}

/** Gives the cache to nobody, readable by all and writable by nobody else (the build's root-owned cache). */
function handOver(dir: string): void {
  assert.equal(spawnSync('chown', ['-R', '65534:65534', dir]).status, 0);
  assert.equal(spawnSync('chmod', ['-R', 'a+rX,go-w', dir]).status, 0);
}

/** Every file under `dir`, relative. */
async function listing(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

describe('model cache written at build time, read by an unprivileged worker', () => {
  let cache: string;
  before(async () => {
    assert.equal(spawnSync('setpriv', ['--version']).status, 0, 'setpriv (util-linux) is installed');
    // The weights as fetch-model leaves them, in a root-owned cache others may read (mkdtemp is 0700).
    cache = await mkdtemp(join(tmpdir(), 'resnet-batch-image-cache-'));
    await cp(artifactCacheDir(), artifactCacheDir({ RESNET_BATCH_CACHE: cache }), { recursive: true });
    handOver(cache);
  });
  after(async () => {
    await rm(cache, { recursive: true, force: true });
  });

  test('without a prepared graph or a writable runtime cache, the worker says which folder to make writable', async () => {
    const unwritable = join(cache, 'runtime');
    const result = classifyUnprivileged({ RESNET_BATCH_CACHE: cache, RESNET_BATCH_RUNTIME_CACHE: unwritable });
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /MODEL: cannot write the generated ONNX graph to \S*\/runtime\/onnx \(EACCES\)/);
    assert.match(result.stderr, /set RESNET_BATCH_RUNTIME_CACHE/);
  });

  test('after `npm run prepare-model` at build time, the worker finds the graph and writes nothing', async () => {
    // The build runs as the cache's owner (root, with its capabilities).
    const prepared = spawnSync('npm', ['run', '--silent', 'prepare-model'], {
      cwd: root,
      env: { ...process.env, RESNET_BATCH_CACHE: cache },
      encoding: 'utf8',
    });
    assert.equal(prepared.status, 0, prepared.stderr);
    assert.match(prepared.stderr, /ResNet-50 fp32 ONNX graph generated: \S+\.onnx/);
    handOver(cache);
    const before = await listing(cache);

    const result = classifyUnprivileged({ RESNET_BATCH_CACHE: cache });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /espresso/);
    assert.deepEqual(await listing(cache), before);
  });
});
