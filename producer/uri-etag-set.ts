import { createHash } from 'node:crypto';

/**
 * The (URI, ETag) pairs a previous run processed, kept as 64-bit digests in one sorted
 * BigUint64Array: 8 bytes per image (plus up to 2x while growing), so a base run of 10 million
 * images costs about 80-160 MB, where a Set of the strings would cost well over a gigabyte.
 *
 * The price of a digest is a false "unchanged": a new or changed object whose digest equals one of
 * the base's. With n base images and m listed ones the odds are about n*m/2^64, i.e. 5e-6 for ten
 * million of each; such an image keeps its previous result instead of being reprocessed.
 *
 * Usage: add() every pair, then freeze() once (sorts), then has(). add() after freeze() throws.
 */
export class UriEtagSet {
  private digests = new BigUint64Array(1024);
  private count = 0;
  private frozen = false;

  get size(): number {
    return this.count;
  }

  add(uri: string, etag: string): void {
    if (this.frozen) throw new Error('UriEtagSet.add after freeze(); add every pair before the first lookup');
    if (this.count === this.digests.length) {
      const grown = new BigUint64Array(this.digests.length * 2);
      grown.set(this.digests);
      this.digests = grown;
    }
    this.digests[this.count] = digest(uri, etag);
    this.count += 1;
  }

  /** Sorts the digests and releases the unused capacity. */
  freeze(): this {
    this.digests = this.digests.slice(0, this.count).sort();
    this.frozen = true;
    return this;
  }

  has(uri: string, etag: string): boolean {
    if (!this.frozen) throw new Error('UriEtagSet.has before freeze(); call freeze() once every pair is added');
    const wanted = digest(uri, etag);
    let low = 0;
    let high = this.count - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = this.digests[middle]!;
      if (value === wanted) return true;
      if (value < wanted) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }
}

/** First 8 bytes of sha256(uri NUL etag): NUL cannot occur in either, so pairs never run together. */
function digest(uri: string, etag: string): bigint {
  return createHash('sha256').update(uri).update('\0').update(etag).digest().readBigUInt64BE(0);
}
