/**
 * What a loader derived from large local files (the weights' sha256, a graph's digest), remembered
 * by the files' size, mtime and inode, so that a start does not read and hash 100 MB to learn what
 * the last start learnt (issue 12: start-up under 2 s). The same trust as make and git's index:
 * rewriting a file, in place or by rename, changes its mtime or inode, and truncating it changes
 * its size. Only a write that keeps all three (a deliberate `touch -d` after editing the bytes)
 * goes unseen; delete the memo (or the cache folder) after such surgery.
 *
 * A memo is one small JSON file written atomically (temporary name + rename), so concurrent
 * workers on one host at worst compute the same value twice.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** [size, mtimeMs, ino] of each path, in order; undefined when any is missing. */
export async function fingerprint(paths: readonly string[]): Promise<Array<[number, number, number]> | undefined> {
  try {
    return await Promise.all(
      paths.map(async (path) => {
        const info = await stat(path);
        return [info.size, info.mtimeMs, info.ino] as [number, number, number];
      }),
    );
  } catch {
    return undefined;
  }
}

interface Memo {
  paths: readonly string[];
  fingerprint: Array<[number, number, number]>;
  value: string;
}

/** The value remembered in `memoPath` for exactly these files as they are now, else undefined. */
export async function recall(memoPath: string, paths: readonly string[]): Promise<string | undefined> {
  let memo: Memo;
  try {
    memo = JSON.parse(await readFile(memoPath, 'utf8')) as Memo;
  } catch {
    return undefined;
  }
  const now = await fingerprint(paths);
  if (!now || JSON.stringify(memo.paths) !== JSON.stringify(paths)) return undefined;
  return JSON.stringify(memo.fingerprint) === JSON.stringify(now) ? memo.value : undefined;
}

/**
 * Remembers `value` for these files, given their fingerprint taken BEFORE `value` was computed
 * from them: when they changed meanwhile nothing is remembered. Best effort: a memo that cannot
 * be written costs time at the next start, not correctness.
 */
export async function remember(
  memoPath: string,
  paths: readonly string[],
  before: Array<[number, number, number]> | undefined,
  value: string,
): Promise<void> {
  const now = await fingerprint(paths);
  if (!now || JSON.stringify(now) !== JSON.stringify(before)) return;
  const temporary = `${memoPath}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await mkdir(dirname(memoPath), { recursive: true });
    await writeFile(temporary, JSON.stringify({ paths, fingerprint: now, value } satisfies Memo));
    await rename(temporary, memoPath);
  } catch {
    await rm(temporary, { force: true });
  }
}
