import { ConfigError } from '../shared/errors.ts';
import { DEFAULT_SHARD_SIZE, type ImageRef, MAX_SHARD_SIZE } from '../shared/queue/job-payload.ts';
import type { ListedImage } from './list-inputs.ts';

/**
 * Stage 3 of submit: group the selected images into shards of `shardSize`, numbered 0..n-1 in
 * listing order. Only the shard being filled is held, so memory is one shard plus the page the
 * listing is on, however long the listing. Every shard is full except possibly the last.
 *
 * Shard i of a run must hold the same images every time the run is submitted (job ids and output
 * keys derive from i), which holds because listings come in key order and manifests in line order.
 */
export interface Shard {
  index: number;
  images: ImageRef[];
}

/** Throws ConfigError unless 1 <= size <= MAX_SHARD_SIZE. */
export function checkShardSize(size: number): number {
  if (!Number.isSafeInteger(size) || size < 1 || size > MAX_SHARD_SIZE) {
    throw new ConfigError(
      `shard size must be a whole number from 1 to ${MAX_SHARD_SIZE} (got ${size}); the default is ${DEFAULT_SHARD_SIZE}`,
    );
  }
  return size;
}

export async function* shardListing(
  pages: AsyncIterable<ListedImage[]>,
  shardSize: number = DEFAULT_SHARD_SIZE,
): AsyncGenerator<Shard> {
  checkShardSize(shardSize);
  let index = 0;
  let images: ImageRef[] = [];
  for await (const page of pages) {
    for (const info of page) {
      // Copy only the payload's fields: stores may attach more to ObjectInfo.
      images.push({ uri: info.uri, size: info.size, etag: info.etag, ...(info.fields ? { fields: info.fields } : {}) });
      if (images.length === shardSize) {
        yield { index, images };
        index += 1;
        images = [];
      }
    }
  }
  if (images.length > 0) yield { index, images };
}
