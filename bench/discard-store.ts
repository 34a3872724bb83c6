import { Readable } from 'node:stream';
import { ObjectNotFoundError } from '../shared/errors.ts';
import type { ObjectInfo, ObjectRead, ObjectStore } from '../shared/storage/object-store.ts';

/**
 * A store that keeps nothing: writes succeed and are dropped, reads find nothing. For
 * bench/redis-ceiling.ts, where storage must cost nothing so that only Redis is measured.
 */
export class DiscardStore implements ObjectStore {
  async *list(): AsyncIterable<ObjectInfo[]> {}
  async stat(): Promise<ObjectInfo | null> {
    return null;
  }
  async read(uri: string): Promise<Buffer> {
    throw new ObjectNotFoundError(uri);
  }
  async readObject(uri: string): Promise<ObjectRead> {
    throw new ObjectNotFoundError(uri);
  }
  async readStream(): Promise<Readable> {
    return Readable.from([]);
  }
  async write(): Promise<void> {}
  async delete(): Promise<void> {}
  async close(): Promise<void> {}
}
