// bin/resnet-batch.js runs the compiled CLI only while it is current with the sources: proved on a
// scratch tree holding a copy of bin/build-stamp.js, then on the real build.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setUp } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const scratch = useTempDir('resnet-batch-launcher-');
interface StampModule {
  sourceFingerprint(): unknown;
  compiledEntryIfCurrent(entry: string): string | undefined;
}
let stampModule: StampModule;

setUp(async () => {
  await mkdir(join(scratch.path, 'bin'));
  await copyFile(join(root, 'bin', 'build-stamp.js'), join(scratch.path, 'bin', 'build-stamp.js'));
  for (const folder of ['ops', 'schedule', 'producer', 'worker', 'model', 'shared']) {
    await mkdir(join(scratch.path, folder));
    await writeFile(join(scratch.path, folder, 'a.ts'), `export const folder = '${folder}';\n`);
  }
  await writeFile(join(scratch.path, 'bin', 'cli.ts'), '');
  await writeFile(join(scratch.path, 'tsconfig.json'), '{}');
  await writeFile(join(scratch.path, 'tsconfig.build.json'), '{}');
  stampModule = await import(pathToFileURL(join(scratch.path, 'bin', 'build-stamp.js')).href);
});

/** What bin/build.js does after a successful compile. */
async function stamp(): Promise<void> {
  await mkdir(join(scratch.path, 'dist'), { recursive: true });
  await writeFile(
    join(scratch.path, 'dist', 'build-stamp.json'),
    JSON.stringify({ files: stampModule.sourceFingerprint() }),
  );
}

describe('the launcher', () => {
  test('uses the compiled CLI when the stamp matches every source file', async () => {
    await stamp();
    assert.equal(
      stampModule.compiledEntryIfCurrent('bin/cli.js'),
      pathToFileURL(join(scratch.path, 'dist/bin/cli.js')).href,
    );
  });

  test('falls back to the sources when a source file changed after the build', async () => {
    await stamp();
    await utimes(join(scratch.path, 'worker', 'a.ts'), new Date(), new Date(Date.now() + 5000));
    assert.equal(stampModule.compiledEntryIfCurrent('bin/cli.js'), undefined);
  });

  test('falls back to the sources when a source file was added or removed after the build', async () => {
    await stamp();
    await writeFile(join(scratch.path, 'shared', 'b.ts'), '');
    assert.equal(stampModule.compiledEntryIfCurrent('bin/cli.js'), undefined);
    await stamp();
    await rm(join(scratch.path, 'shared', 'b.ts'));
    assert.equal(stampModule.compiledEntryIfCurrent('bin/cli.js'), undefined);
  });

  test('falls back to the sources when there was no build', async () => {
    await rm(join(scratch.path, 'dist'), { recursive: true, force: true });
    assert.equal(stampModule.compiledEntryIfCurrent('bin/cli.js'), undefined);
  });

  test('npm run build makes the compiled CLI current, and it prints the version', async () => {
    const { compiledEntryIfCurrent } = (await import(
      pathToFileURL(join(root, 'bin', 'build-stamp.js')).href
    )) as StampModule;
    // The build the install made is reused; only a tree edited since is built again (~20 s).
    if (!compiledEntryIfCurrent('bin/cli.js')) {
      const built = spawnSync(process.execPath, [join(root, 'bin', 'build.js')], { encoding: 'utf8' });
      assert.equal(built.status, 0, built.stderr);
    }
    const entry = compiledEntryIfCurrent('bin/cli.js');
    assert.ok(entry, 'the build left no current stamp');
    const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
    const printed = spawnSync(process.execPath, [fileURLToPath(entry), '--version'], { encoding: 'utf8' });
    assert.equal(printed.stdout, `${version}\n`, printed.stderr);
  });
});
