import type { Readable } from 'node:stream';

/**
 * The storage contract: what every store (local filesystem, S3 and S3-compatible) offers the
 * pipeline. Everything is addressed by URI: `s3://bucket/key`, `file:///abs/path`, or a plain
 * path (made absolute against the working directory). shared/storage/open-store.ts picks the
 * store for a URI, so a new store is one new file plus one line there, and it passes
 * test/shared/storage-contract.test.ts.
 *
 * Inside: listing (paginated, recursive), stat, reads (whole or streamed, with a byte limit) and
 * writes that are atomic per object (a reader sees the old object, the new one or none, never
 * half of one). Left out on purpose: deletes, renames and multi-object transactions; the pipeline
 * never needs them, because outputs are written under deterministic keys and overwritten on retry.
 */
export interface ObjectStore {
  /**
   * Lists every object under `prefixUri` (recursively), one page at a time, in key order. A page
   * holds at most `pageSize` objects (default 1000, the S3 maximum), so a listing of millions of
   * objects is never held in memory at once.
   */
  list(prefixUri: string, options?: { pageSize?: number }): AsyncIterable<ObjectInfo[]>;

  /** Size and ETag of one object, or null when it does not exist. */
  stat(uri: string): Promise<ObjectInfo | null>;

  /**
   * Reads a whole object. Throws ObjectNotFoundError when it does not exist and
   * ObjectTooLargeError when it is larger than `maxBytes` (checked before the body is buffered).
   */
  read(uri: string, options?: { maxBytes?: number }): Promise<Buffer>;

  /** Streams an object (large model files). Throws ObjectNotFoundError when it does not exist. */
  readStream(uri: string): Promise<Readable>;

  /** Writes an object atomically, replacing any previous one under that URI. */
  write(uri: string, body: Buffer | Uint8Array | string, options?: { contentType?: string }): Promise<void>;

  /** Releases sockets and handles. */
  close(): Promise<void>;
}

export interface ObjectInfo {
  /** Canonical URI of the object: `s3://bucket/key` or `file:///abs/path`. */
  uri: string;
  /** Size in bytes. */
  size: number;
  /** Entity tag as the store reports it (S3 ETag without quotes; local: `mtimeMs-size`). */
  etag: string;
}
