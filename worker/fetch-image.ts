import { ImageError, ObjectTooLargeError, StorageError } from '../shared/errors.ts';
import type { ImageRef } from '../shared/queue/job-payload.ts';
import type { ObjectRead, ObjectStore } from '../shared/storage/object-store.ts';

/**
 * Fetch stage: the bytes of one image of a shard, with the size and ETag of the object they came
 * from (the row describes what was processed, even if the object changed since it was listed).
 *
 * Each of these becomes the image's own error row and never fails its neighbours:
 *   - NOT_FOUND: the object, or its bucket, does not exist;
 *   - FORBIDDEN: the store refused to read it (permissions, bucket policy);
 *   - NOT_A_FILE: a FIFO, socket, device or folder named like an image (read by the store
 *     without blocking);
 *   - TOO_LARGE: over `maxBytes` (an object the listing already reported as larger is refused
 *     without a request; the store checks the live size again before buffering);
 *   - TIMEOUT: no bytes within `timeoutMs` (a hung NFS mount, a stalled server);
 *   - for web URLs, whatever the http(s) store makes the image's own error (HTTP_<status>,
 *     BLOCKED_ADDRESS, OPTED_OUT, TOO_MANY_REDIRECTS, UNREACHABLE: shared/storage/http/http-fetch.ts),
 *     which is every failure of a web fetch: a dead link is data, not an outage;
 *   - NOT_FOUND also for a name no file or object can have (a NUL byte, a file URI's escape that
 *     is not UTF-8), checked before the store is opened: its own row, not a failed shard.
 * Anything else (the store unreachable, throttling, 5xx after the SDK's retries) propagates and
 * fails the shard attempt, so BullMQ retries the whole shard with backoff.
 */
export async function fetchImage(
  store: ObjectStore,
  image: ImageRef,
  maxBytes: number,
  timeoutMs: number,
): Promise<ObjectRead> {
  if (image.size > maxBytes) throw new ObjectTooLargeError(image.uri, image.size, maxBytes);
  // A store that times its own reads from when they may go out (web hosts take turns) gets no
  // outer clock: it would count the wait for the host's turn and make TIMEOUT rows of fast servers.
  if (store.timesOwnReads) return await readClassified(store, image, maxBytes);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ImageError(
            'TIMEOUT',
            `no bytes of ${image.uri} within ${timeoutMs} ms; raise FETCH_TIMEOUT_MS if the store is slow`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([readClassified(store, image, maxBytes), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The read, with a missing bucket and a refusal made the image's own NOT_FOUND and FORBIDDEN. */
async function readClassified(store: ObjectStore, image: ImageRef, maxBytes: number): Promise<ObjectRead> {
  try {
    return await store.readObject(image.uri, { maxBytes });
  } catch (error) {
    if (error instanceof StorageError && error.kind === 'bucket-missing')
      throw new ImageError('NOT_FOUND', error.message, { cause: error });
    if (error instanceof StorageError && error.kind === 'access-denied')
      throw new ImageError('FORBIDDEN', error.message, { cause: error });
    throw error;
  }
}

/** Throws the image's NOT_FOUND when no file or object can have its name; see unnameableProblem. */
export function requireNameable(uri: string): void {
  const problem = unnameableProblem(uri);
  if (problem !== null) {
    throw new ImageError(
      'NOT_FOUND',
      `${JSON.stringify(uri)} ${problem}, which no file name can hold; fix the list entry`,
    );
  }
}

function unnameableProblem(uri: string): string | null {
  if (uri.includes('\0')) return 'holds a NUL byte';
  // Only a file URI is percent-encoded by definition; an s3 key or a web URL may hold a bare '%'.
  if (!/^file:/i.test(uri)) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(uri);
  } catch {
    return 'holds a %-escape that is not UTF-8';
  }
  return decoded.includes('\0') ? 'holds an escaped NUL byte (%00)' : null;
}
