import type { Dirent, Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ListOptions, ObjectInfo } from '../object-store.ts';
import { formatFileUri } from './file-uri.ts';
import { errorCode, isMissing, storageError } from './local-errors.ts';

/**
 * The listing of a local folder (local-store.ts): a depth-first walk in S3's key order, one
 * directory's sorted names at a time, so memory is bounded by the largest single directory.
 * Entries are sorted by UTF-8 bytes with '/' appended to directory names, which makes the walk
 * come out in exactly S3's key order (`a-b` sorts before `a/x`, as '-' < '/'). Symlinks to files
 * are followed; symlinks to directories are skipped (they can form cycles). Only regular files
 * are listed: FIFOs, sockets and devices are never images, and opening a FIFO would block.
 *
 * An entry that cannot be listed (a link that loops, a file or folder this user may not read, a
 * name that is not UTF-8) is reported through `onSkip` with the reason, never ending the listing:
 * one bad entry must not abort a submit of a million files.
 */

/** Temporary files of LocalStore.write (`.<name>.tmp-<pid>-<hex>`), hidden from listings. */
export const TMP_NAME = /^\..+\.tmp-\d+-[0-9a-f]{12}$/;

export type SkipReporter = NonNullable<ListOptions['onSkip']>;

/** Depth-first walk in key order; yields nothing for a missing root. */
export async function* walk(root: string, prefixUri: string, onSkip: SkipReporter): AsyncGenerator<ObjectInfo> {
  let rootStats: Stats;
  try {
    rootStats = await stat(root);
  } catch (error) {
    if (isMissing(error)) return;
    throw storageError('list', prefixUri, error);
  }
  if (rootStats.isFile()) {
    yield toInfo(root, rootStats);
    return;
  }
  if (rootStats.isDirectory()) yield* walkDirectory(root, prefixUri, onSkip, true);
}

async function* walkDirectory(
  dir: string,
  prefixUri: string,
  onSkip: SkipReporter,
  isRoot = false,
): AsyncGenerator<ObjectInfo> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    // A directory removed while we walk is simply gone, like an S3 object deleted mid-listing.
    if (isMissing(error)) return;
    // The input itself unreadable ends the listing; a folder inside it is skipped with its reason.
    if (isRoot) throw storageError('list', prefixUri, error);
    onSkip({
      uri: formatFileUri({ scheme: 'file', path: dir }),
      reason: `folder cannot be read (${errorCode(error)})`,
    });
    return;
  }
  const sorted = entries
    .filter((entry) => !TMP_NAME.test(entry.name))
    .map((entry) => ({ entry, sortKey: Buffer.from(entry.isDirectory() ? `${entry.name}/` : entry.name, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
  for (const { entry } of sorted) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      yield* walkDirectory(path, prefixUri, onSkip);
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      const info = await listedFile(path, onSkip);
      if (info !== null) yield info;
    }
  }
}

/** The regular file at `path` (links followed), or null after reporting why it is left out. */
async function listedFile(path: string, onSkip: SkipReporter): Promise<ObjectInfo | null> {
  const uri = formatFileUri({ scheme: 'file', path });
  if (path.includes('\uFFFD')) {
    // A name that is not valid UTF-8 reaches us with U+FFFD in place of its bad bytes, so the
    // path we build does not exist and no URI can name the file.
    onSkip({
      uri,
      reason: `its name is not valid UTF-8 (it reads as '${basename(path)}'), so no URI can name it; rename it to UTF-8 (e.g. convmv -f latin1 -t utf8)`,
    });
    return null;
  }
  try {
    const stats = await stat(path);
    return stats.isFile() ? toInfo(path, stats) : null;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      // A dangling link, or a file deleted while we walk: gone, like an S3 object deleted mid-listing.
      return null;
    }
    onSkip({
      uri,
      reason: `it cannot be read (${errorCode(error) ?? String(error)}${errorCode(error) === 'ELOOP' ? ': a link that loops' : ''})`,
    });
    return null;
  }
}

export function toInfo(path: string, stats: Stats): ObjectInfo {
  return { uri: formatFileUri({ scheme: 'file', path }), size: stats.size, etag: `${stats.mtimeMs}-${stats.size}` };
}

/** The default skip reporter: a process warning naming the entry and why. */
export function warnSkipped(skipped: { uri: string; reason: string }): void {
  process.emitWarning(`skipped ${skipped.uri}: ${skipped.reason}`, { code: 'RESNET_BATCH_LIST_SKIPPED' });
}
