// README's generated sections (CLI reference, environment, error codes) match the code, and
// README names every flag and every environment variable the code has: `npm run docs -- --check`
// is CI's check, run here because CI runs `npm test`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { program } from '../../bin/cli-program.ts';
import { longFlags } from '../../docs/cli-reference.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE_FOLDERS = ['bin', 'ops', 'schedule', 'producer', 'worker', 'model', 'shared'];
let readme: string;
let scratch: string;

before(async () => {
  readme = await readFile(join(root, 'README.md'), 'utf8');
  scratch = await mkdtemp(join(tmpdir(), 'docs-current-'));
});

after(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function checkDocs(file?: string): ReturnType<typeof spawnSync> {
  const args = ['--import', 'tsx', join(root, 'docs', 'build-docs.ts'), '--check', ...(file ? [file] : [])];
  return spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
}

test('README is what npm run docs writes (run it and commit README when this fails)', () => {
  const checked = checkDocs();
  assert.equal(checked.status, 0, String(checked.stderr));
});

test('the check fails on a stale README and names the stale section', async () => {
  const stale = join(scratch, 'README.md');
  await writeFile(stale, readme.replace('--shards-in-flight', '--shards-at-once'));
  const checked = checkDocs(stale);
  assert.equal(checked.status, 1);
  assert.match(String(checked.stderr), /stale in section\(s\) cli/);
});

test('README names every long flag of every command', () => {
  const flags = longFlags(program);
  assert.ok(flags.length > 30, `only ${flags.length} flags found`);
  const missing = flags.filter((flag) => !readme.includes(flag));
  assert.deepEqual(missing, []);
});

test('README names every environment variable the source reads', async () => {
  const names = new Set<string>();
  for (const folder of SOURCE_FOLDERS) {
    for (const file of await readdir(join(root, folder), { recursive: true })) {
      if (!/\.(ts|js)$/.test(file)) continue;
      const text = await readFile(join(root, folder, file), 'utf8');
      for (const match of text.matchAll(/\benv(?:\.|\[')([A-Z][A-Z0-9_]{2,})/g)) names.add(match[1]!);
    }
  }
  assert.ok(names.has('LOG_LEVEL'), 'the scan finds the variables');
  assert.deepEqual(
    [...names].filter((name) => !readme.includes(name)),
    [],
  );
});
