import { randomBytes } from 'node:crypto';
import type { Dirent, Stats } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { describeError, ObjectNotFoundError, ObjectTooLargeError, StorageError } from '../errors.ts';
import { type FileLocation, fileUriSyntax, formatFileUri, parseFileUri } from './file-uri.ts';
import type { ObjectInfo, ObjectStore } from './object-store.ts';
import type { StoreScheme } from './store-scheme.ts';

/**
 * ObjectStore over the local filesystem, for plain paths and file:// URIs.
 *
 * - A list prefix is a folder (everything below it, recursively) or a single file; a missing
 *   path lists nothing. Unlike raw S3 prefixes, `/data/img` does not match `/data/img2/...`.
 * - Listing walks directories lazily, one directory's sorted names at a time, so memory is bounded
 *   by the largest single directory, never the tree. Entries are sorted by UTF-8 bytes with '/'
 *   appended to directory names, which makes the depth-first walk come out in exactly S3's key
 *   order (`a-b` sorts before `a/x`, as '-' < '/').
 * - Symlinks to files are followed; symlinks to directories are skipped (they can form cycles).
 * - etag is `${mtimeMs}-${size}` (mtimeMs keeps its sub-millisecond fraction): it changes on every
 *   rewrite without reading the file, which is all the pipeline asks of an ETag.
 * - Writes go to a temporary file in the target directory, are fsynced, then renamed over the
 *   target: rename within one directory is atomic on POSIX, so readers see old or new, never half.
 *   Temporary files (`.<name>.tmp-<pid>-<hex>`) are hidden from listings.
 */
export class LocalStore implements ObjectStore {
  async *list(prefixUri: string, options: { pageSize?: number } = {}): AsyncIterable<ObjectInfo[]> {
    const pageSize = options.pageSize ?? 1000;
    const root = localPath(prefixUri);
    let page: ObjectInfo[] = [];
    for await (const info of walk(root, prefixUri)) {
      page.push(info);
      if (page.length >= pageSize) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }

  async stat(uri: string): Promise<ObjectInfo | null> {
    return fileInfo(localPath(uri), 'stat', uri);
  }

  async read(uri: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
    const handle = await openForRead(uri);
    try {
      // fstat on the open handle: the size checked is the size of the very file read, even if
      // a writer renames a new version over the path meanwhile.
      const { size } = await handle.stat();
      if (options.maxBytes !== undefined && size > options.maxBytes)
        throw new ObjectTooLargeError(uri, size, options.maxBytes);
      return await handle.readFile();
    } catch (error) {
      if (error instanceof ObjectTooLargeError) throw error;
      throw storageError('read', uri, error);
    } finally {
      await handle.close();
    }
  }

  async readStream(uri: string): Promise<Readable> {
    const handle = await openForRead(uri);
    return handle.createReadStream({ autoClose: true });
  }

  async write(uri: string, body: Buffer | Uint8Array | string): Promise<void> {
    const path = localPath(uri);
    const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(dirname(path), { recursive: true });
      const handle = await open(tmp, 'wx');
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, path);
    } catch (error) {
      await unlink(tmp).catch(() => undefined);
      throw storageError('write', uri, error);
    }
  }

  async close(): Promise<void> {}
}

const TMP_NAME = /^\..+\.tmp-\d+-[0-9a-f]{12}$/;

/** Depth-first walk in key order; yields nothing for a missing root. */
async function* walk(root: string, prefixUri: string): AsyncGenerator<ObjectInfo> {
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
  if (rootStats.isDirectory()) yield* walkDirectory(root, prefixUri);
}

async function* walkDirectory(dir: string, prefixUri: string): AsyncGenerator<ObjectInfo> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    // A directory removed while we walk is simply gone, like an S3 object deleted mid-listing.
    if (isMissing(error)) return;
    throw storageError('list', prefixUri, error);
  }
  const sorted = entries
    .filter((entry) => !TMP_NAME.test(entry.name))
    .map((entry) => ({ entry, sortKey: Buffer.from(entry.isDirectory() ? `${entry.name}/` : entry.name, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
  for (const { entry } of sorted) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      yield* walkDirectory(path, prefixUri);
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      const info = await fileInfo(path, 'list', prefixUri);
      if (info !== null) yield info;
      else if (entry.name.includes('\uFFFD')) warnUnreadableName(dir, entry.name);
    }
  }
}

/**
 * A file name that is not valid UTF-8 reaches us with U+FFFD in place of its bad bytes, so the
 * path we build does not exist and no URI can name the file. It is skipped, but never silently:
 * the listing has no skip channel (ObjectStore.list yields objects only), so the process warning
 * is what tells the user which file was left out and how to fix it.
 */
function warnUnreadableName(dir: string, lossyName: string): void {
  process.emitWarning(
    `skipped a file in ${dir} whose name is not valid UTF-8 (it reads as '${lossyName}'); no URI can name it, so it is not listed; rename it to UTF-8 (e.g. convmv -f latin1 -t utf8)`,
    { code: 'RESNET_BATCH_NAME_NOT_UTF8' },
  );
}

/** The file at `path` (links followed), or null when it is missing or not a regular file. */
async function fileInfo(path: string, operation: string, uri: string): Promise<ObjectInfo | null> {
  try {
    const stats = await stat(path);
    return stats.isFile() ? toInfo(path, stats) : null;
  } catch (error) {
    if (isMissing(error)) return null;
    throw storageError(operation, uri, error);
  }
}

async function openForRead(uri: string) {
  const path = localPath(uri);
  try {
    const handle = await open(path, 'r');
    const stats = await handle.stat().catch(async (error: unknown) => {
      await handle.close();
      throw error;
    });
    if (!stats.isFile()) {
      await handle.close();
      throw new ObjectNotFoundError(uri);
    }
    return handle;
  } catch (error) {
    if (error instanceof ObjectNotFoundError) throw error;
    if (isMissing(error)) throw new ObjectNotFoundError(uri);
    throw storageError('read', uri, error);
  }
}

function localPath(uri: string): string {
  try {
    return parseFileUri(uri).path;
  } catch (error) {
    throw new StorageError(`LocalStore got '${uri}' (${describeError(error)}); open stores with openStore`, {
      retryable: false,
    });
  }
}

function toInfo(path: string, stats: Stats): ObjectInfo {
  return { uri: formatFileUri({ scheme: 'file', path }), size: stats.size, etag: `${stats.mtimeMs}-${stats.size}` };
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

/** Permission and read-only problems will not pass by retrying; EIO, EMFILE and the like might. */
const PERMANENT = new Set([
  'EACCES',
  'EPERM',
  'EROFS',
  'ENAMETOOLONG',
  'ENOSPC',
  'EDQUOT',
  'EEXIST',
  'ENOTDIR',
  'EISDIR',
]);

function storageError(operation: string, uri: string, error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  const code = errorCode(error) ?? 'unknown';
  const fix = PERMANENT.has(code) ? 'check the path and its permissions' : 'retry; if it persists, check the disk';
  return new StorageError(`local ${operation} of ${uri} failed with ${code}; ${fix}`, {
    retryable: !PERMANENT.has(code),
    cause: error,
  });
}

/** The local filesystem in the store registry: file:// URIs and plain paths. */
export const localScheme: StoreScheme<FileLocation> = { ...fileUriSyntax, open: () => new LocalStore() };
