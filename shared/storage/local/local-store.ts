import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, link, mkdir, open, rename, rmdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  describeError,
  NotAFileError,
  ObjectNotFoundError,
  ObjectTooLargeError,
  PreconditionFailedError,
  StorageError,
} from '../../errors.ts';
import type { ListOptions, ObjectInfo, ObjectRead, ObjectStore, WriteOptions } from '../object-store.ts';
import type { StoreScheme } from '../store-scheme.ts';
import { type FileLocation, fileUriSyntax, parseFileUri } from './file-uri.ts';
import { errorCode, isMissing, storageError } from './local-errors.ts';
import { toInfo, walk, warnSkipped } from './local-listing.ts';

/**
 * ObjectStore over the local filesystem, for plain paths and file:// URIs.
 *
 * - A list prefix is a folder (everything below it, recursively) or a single file; a missing
 *   path lists nothing. Unlike raw S3 prefixes, `/data/img` does not match `/data/img2/...`.
 *   See local-listing.ts for the order and what is left out.
 * - Reads open the path without blocking (O_NONBLOCK, so a FIFO named like an image cannot hang
 *   a shard) and check the open handle is a regular file before reading it: a FIFO, socket,
 *   device or directory is a NotAFileError. Size and ETag come from that same handle.
 * - etag is `${mtimeMs}-${size}` (mtimeMs keeps its sub-millisecond fraction): it changes on every
 *   rewrite without reading the file, which is all the pipeline asks of an ETag.
 * - Writes go to a temporary file in the target directory, are fsynced, then renamed over the
 *   target: rename within one directory is atomic on POSIX, so readers see old or new, never half.
 *   A create-only write (`ifNoneMatch: '*'`) links the temporary file to the target instead,
 *   which fails when the target exists: an exclusive create, also across hosts on NFS.
 */
export class LocalStore implements ObjectStore {
  async *list(prefixUri: string, options: ListOptions = {}): AsyncIterable<ObjectInfo[]> {
    const pageSize = options.pageSize ?? 1000;
    let page: ObjectInfo[] = [];
    for await (const info of walk(localPath(prefixUri), prefixUri, options.onSkip ?? warnSkipped)) {
      page.push(info);
      if (page.length >= pageSize) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }

  async stat(uri: string): Promise<ObjectInfo | null> {
    const handle = await openForRead(uri).catch((error: unknown) => {
      if (error instanceof ObjectNotFoundError || error instanceof NotAFileError) return null;
      throw error;
    });
    if (handle === null) return null;
    try {
      return toInfo(localPath(uri), await handle.stat());
    } finally {
      await handle.close();
    }
  }

  async read(uri: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
    return (await this.readObject(uri, options)).body;
  }

  async readObject(uri: string, options: { maxBytes?: number } = {}): Promise<ObjectRead> {
    const handle = await openForRead(uri);
    try {
      // fstat on the open handle: the size checked and the ETag returned are those of the very
      // file read, even if a writer renames a new version over the path meanwhile.
      const stats = await handle.stat();
      if (options.maxBytes !== undefined && stats.size > options.maxBytes) {
        throw new ObjectTooLargeError(uri, stats.size, options.maxBytes);
      }
      return { body: await handle.readFile(), info: toInfo(localPath(uri), stats) };
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

  async write(uri: string, body: Buffer | Uint8Array | string, options: WriteOptions = {}): Promise<void> {
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
      if (options.ifNoneMatch === '*') {
        await link(tmp, path);
        await unlink(tmp);
      } else {
        await rename(tmp, path);
      }
    } catch (error) {
      await unlink(tmp).catch(() => undefined);
      if (options.ifNoneMatch === '*' && errorCode(error) === 'EEXIST') throw new PreconditionFailedError(uri);
      throw storageError('write', uri, error);
    }
  }

  async delete(uri: string): Promise<void> {
    const path = localPath(uri);
    try {
      await unlink(path);
    } catch (error) {
      if (!isMissing(error)) throw storageError('delete', uri, error);
    }
    // rmdir refuses a folder that is not empty, so this removes the probe's folder only when
    // nothing else was written into it meanwhile.
    await rmdir(dirname(path)).catch(() => undefined);
  }

  async close(): Promise<void> {}
}

/** Opens a regular file without blocking; NotAFileError for anything else, ObjectNotFoundError when missing. */
async function openForRead(uri: string): Promise<FileHandle> {
  const path = localPath(uri);
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if (isMissing(error)) throw new ObjectNotFoundError(uri);
    if (errorCode(error) === 'ENXIO') throw new NotAFileError(uri, 'socket or FIFO without a writer');
    throw storageError('read', uri, error);
  }
  try {
    const stats = await handle.stat();
    if (stats.isFile()) return handle;
    const kind = stats.isDirectory() ? 'directory' : stats.isFIFO() ? 'FIFO' : stats.isSocket() ? 'socket' : 'device';
    throw new NotAFileError(uri, kind);
  } catch (error) {
    await handle.close();
    if (error instanceof NotAFileError) throw error;
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

/** The local filesystem in the store registry: file:// URIs and plain paths. */
export const localScheme: StoreScheme<FileLocation> = { ...fileUriSyntax, open: () => new LocalStore() };
