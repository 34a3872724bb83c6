import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectImages } from '../../producer/select-images.ts';
import { shardListing } from '../../producer/shard-listing.ts';
import { ConfigError } from '../../shared/errors.ts';
import type { ObjectInfo } from '../../shared/storage/object-store.ts';

async function* fakeListing(
  count: number,
  pageSize: number,
  name: (i: number) => string = (i) => `s3://bkt/img/${i}.jpg`,
): AsyncGenerator<ObjectInfo[]> {
  for (let start = 0; start < count; start += pageSize) {
    const page: ObjectInfo[] = [];
    for (let i = start; i < Math.min(start + pageSize, count); i += 1)
      page.push({ uri: name(i), size: 1000 + i, etag: `etag-${i}` });
    yield page;
  }
}

test('images are grouped into full shards of K numbered from 0, with the remainder last', async () => {
  const shards = [];
  for await (const shard of shardListing(fakeListing(1001, 7), 250)) shards.push(shard);
  assert.deepEqual(
    shards.map((shard) => shard.index),
    [0, 1, 2, 3, 4],
  );
  assert.deepEqual(
    shards.map((shard) => shard.images.length),
    [250, 250, 250, 250, 1],
  );
  assert.deepEqual(shards[1]?.images[0], { uri: 's3://bkt/img/250.jpg', size: 1250, etag: 'etag-250' });
  assert.equal(shards[4]?.images[0]?.uri, 's3://bkt/img/1000.jpg');
});

test('an empty listing yields no shard', async () => {
  const shards = [];
  for await (const shard of shardListing(fakeListing(0, 10), 5)) shards.push(shard);
  assert.equal(shards.length, 0);
});

test('a shard size outside 1..10000 is refused', async () => {
  for (const size of [0, 10_001, 2.5]) {
    await assert.rejects(async () => {
      for await (const _ of shardListing(fakeListing(1, 1), size)) void _;
    }, ConfigError);
  }
});

test('a listing of 1,000,000 objects goes through select and shard with heap growth under 50 MB and exact counts', async () => {
  // Every fourth object is a sidecar .json, so selection has work to do and counts to get right.
  const name = (i: number) =>
    i % 4 === 3
      ? `s3://bkt/photos/${String(i).padStart(8, '0')}.json`
      : `s3://bkt/photos/${String(i).padStart(8, '0')}.jpg`;
  global.gc?.();
  const baseline = process.memoryUsage().heapUsed;
  let peak = baseline;
  let skipped = 0;
  let shards = 0;
  let images = 0;
  let lastIndex = -1;
  const pages = fakeListing(1_000_000, 1000, name);
  for await (const shard of shardListing(
    selectImages(pages, () => (skipped += 1)),
    256,
  )) {
    assert.equal(shard.index, lastIndex + 1);
    lastIndex = shard.index;
    shards += 1;
    images += shard.images.length;
    // The fake sink discards the shard, as enqueueing does once addBulk returns.
    if (shard.index % 64 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
  assert.equal(images, 750_000);
  assert.equal(skipped, 250_000);
  assert.equal(shards, Math.ceil(750_000 / 256));
  const growthMb = (peak - baseline) / 1024 / 1024;
  assert.ok(growthMb < 50, `peak heap growth was ${growthMb.toFixed(1)} MB`);
});
