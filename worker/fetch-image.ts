import { ObjectTooLargeError } from '../shared/errors.ts';
import type { ImageRef } from '../shared/job-payload.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';

/**
 * Fetch stage: the bytes of one image of a shard.
 *
 * An object the listing already reported as over `maxBytes` is refused without a request; the
 * store checks the live size again before buffering (the object may have changed since listing).
 * ObjectNotFoundError and ObjectTooLargeError become the image's error row; anything else (the
 * store is unreachable, throttling, 5xx after the SDK's retries) propagates and fails the shard
 * attempt, so BullMQ retries the whole shard with backoff.
 */
export async function fetchImage(store: ObjectStore, image: ImageRef, maxBytes: number): Promise<Buffer> {
  if (image.size > maxBytes) throw new ObjectTooLargeError(image.uri, image.size, maxBytes);
  return store.read(image.uri, { maxBytes });
}
