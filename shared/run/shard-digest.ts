import { createHash } from 'node:crypto';
import type { ImageRef } from '../queue/job-payload.ts';

/**
 * What a shard holds, as one sha256 hex digest over its images in order: each image's URI, ETag,
 * size and carried fields. A run records it per shard (the registry when the shard is enqueued,
 * the commit marker when it is written), so a resubmission whose listing puts other images in
 * shard i, or a job naming other images than submit gave that shard, is caught and refused rather
 * than silently mixing two inputs in one run.
 */
export function shardDigest(images: readonly Pick<ImageRef, 'uri' | 'etag' | 'size' | 'fields'>[]): string {
  const hash = createHash('sha256');
  for (const image of images) {
    // NUL never occurs in a URI, an ETag or JSON text, so fields cannot run together.
    hash.update(
      `${image.uri}\0${image.etag}\0${image.size}\0${image.fields === undefined ? '' : JSON.stringify(image.fields)}\n`,
    );
  }
  return hash.digest('hex');
}
