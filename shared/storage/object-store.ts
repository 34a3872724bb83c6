import type { Readable } from 'node:stream';

/**
 * The storage contract: what every store (local filesystem, S3 and S3-compatible) offers the
 * pipeline. Everything is addressed by URI: `s3://bucket/key`, `file:///abs/path`, or a plain
 * path (made absolute against the working directory). shared/storage/open-store.ts picks the
 * store for a URI (store-registry.ts), so a new store is one new file plus one line there, and it
 * passes test/shared/storage-contract.test.ts.
 *
 * Inside: listing (paginated, recursive), stat, reads (whole or streamed, with a byte limit, and
 * with the ETag of the very bytes read) and writes that are atomic per object (a reader sees the
 * old object, the new one or none, never half of one), optionally create-only (a commit marker or
 * a run definition is never replaced), and one delete, for the output write check's probe only
 * (producer/check-output.ts: a check leaves nothing behind). Left out on purpose: deleting
 * outputs, renames and multi-object transactions; the pipeline never needs them, because outputs
 * are written under deterministic keys and a shard's parts are committed by one create-only
 * object written last.
 */
export interface ObjectStore {
  /**
   * Lists every object under `prefixUri` (recursively), one page at a time, in key order. A page
   * holds at most `pageSize` objects (default 1000, the S3 maximum), so a listing of millions of
   * objects is never held in memory at once. An entry that cannot be listed (a link that loops, a
   * folder it may not read) is reported to `onSkip` and left out; the listing goes on.
   */
  list(prefixUri: string, options?: ListOptions): AsyncIterable<ObjectInfo[]>;

  /** Size and ETag of one object, or null when it does not exist. */
  stat(uri: string): Promise<ObjectInfo | null>;

  /**
   * Reads a whole object. Throws ObjectNotFoundError when it does not exist, NotAFileError when it
   * is not one plain file, and ObjectTooLargeError when it is larger than `maxBytes` (checked
   * before the body is buffered).
   */
  read(uri: string, options?: { maxBytes?: number }): Promise<Buffer>;

  /** read(), with the size and ETag of the object the bytes came from (not of a listing before). */
  readObject(uri: string, options?: { maxBytes?: number }): Promise<ObjectRead>;

  /** Streams an object (large model files). Throws ObjectNotFoundError when it does not exist. */
  readStream(uri: string): Promise<Readable>;

  /**
   * Writes an object atomically, replacing any previous one under that URI; with
   * `ifNoneMatch: '*'`, only when none exists (else PreconditionFailedError, nothing written).
   */
  write(uri: string, body: Buffer | Uint8Array | string, options?: WriteOptions): Promise<void>;

  /**
   * Removes one object; nothing happens when it does not exist. A local folder the object leaves
   * empty is removed too (S3 has no folders to leave), so a probe leaves no folder behind. Only
   * the write check's probe is ever deleted: results are never.
   */
  delete(uri: string): Promise<void>;

  /** Releases sockets and handles. */
  close(): Promise<void>;

  /**
   * True when the store bounds each read by a clock of its own that starts only once the read
   * may go out (the http store waits for its host's slot first, see http/host-limiter.ts); the
   * caller then sets no outer timeout, which would count the wait. Absent means false.
   */
  readonly timesOwnReads?: boolean;
}

export interface ListOptions {
  pageSize?: number;
  /** Told about each entry left out of the listing, and why. Default: a process warning. */
  onSkip?: (skipped: { uri: string; reason: string }) => void;
}

export interface WriteOptions {
  contentType?: string;
  /**
   * '*': create only. Local folders enforce it with an exclusive link. S3 sends `If-None-Match: *`
   * (AWS S3 since 2024, MinIO, Ceph RGW honour it); a server that ignores the header (s3rver)
   * replaces the object instead, so the pipeline never relies on it alone (see worker/).
   */
  ifNoneMatch?: '*';
}

export interface ObjectInfo {
  /** Canonical URI of the object: `s3://bucket/key` or `file:///abs/path`. */
  uri: string;
  /** Size in bytes. */
  size: number;
  /** Entity tag as the store reports it (S3 ETag without quotes; local: `mtimeMs-size`). */
  etag: string;
}

export interface ObjectRead {
  body: Buffer;
  /** The object the body was read from, as the same response (S3) or open handle (local) said. */
  info: ObjectInfo;
}
