// The compiled CLI in dist/ and how to tell whether it is current. Plain JS, shared by the
// launcher (bin/resnet-batch.js), which must decide before any TypeScript can load, and by the
// build (bin/build.js).
//
// The stamp (dist/build-stamp.json) lists every file the build reads, with its size and mtime, as
// they were when the build started. The compiled copy is current when the same files exist with
// the same size and mtime now: an edit, a checkout, a pull, a new or deleted file all change the
// list, and the launcher then runs the sources through tsx instead (slower to start, never stale).
// Checking ~130 stats costs about 2 ms of start-up; hashing the sources would cost more.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DIST = join(ROOT, 'dist');
export const STAMP = join(DIST, 'build-stamp.json');
/** The folders tsconfig.build.json compiles (the source roles; not test/, bench/ or infra/). */
export const SOURCE_FOLDERS = ['bin', 'ops', 'schedule', 'producer', 'worker', 'model', 'shared'];
const CONFIG_FILES = ['tsconfig.json', 'tsconfig.build.json'];

/** `{ 'bin/cli.ts': [size, mtimeMs], ... }` over the build's inputs, sorted by path. */
export function sourceFingerprint() {
  const files = [...CONFIG_FILES];
  for (const folder of SOURCE_FOLDERS) {
    for (const entry of readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.ts')) files.push(relative(ROOT, join(entry.parentPath, entry.name)));
    }
  }
  const fingerprint = {};
  for (const file of files.sort()) {
    const info = statSync(join(ROOT, file));
    fingerprint[file] = [info.size, info.mtimeMs];
  }
  return fingerprint;
}

/** The file URL of `dist/<entry>` when the compiled copy is current, else undefined. */
export function compiledEntryIfCurrent(entry) {
  let stamped;
  try {
    stamped = JSON.parse(readFileSync(STAMP, 'utf8')).files;
  } catch {
    return undefined; // never built, or the build did not finish
  }
  const now = sourceFingerprint();
  const keys = Object.keys(now);
  if (keys.length !== Object.keys(stamped ?? {}).length) return undefined;
  for (const key of keys) {
    const [size, mtime] = stamped[key] ?? [];
    if (size !== now[key][0] || mtime !== now[key][1]) return undefined;
  }
  return new URL(`../dist/${entry}`, import.meta.url).href;
}
