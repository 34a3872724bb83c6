import { createHash } from 'node:crypto';

/**
 * The same input named twice in a manifest (`chelsea.png`, `./chelsea.png`, its absolute path,
 * its file:// URI) would get two rows and two vectors. URIs are canonical by then
 * (shared/storage/uri.ts normalises every spelling to one), so duplicates are equal strings; this
 * finds them in bounded memory: 64-bit digests of every URI during the pass over the manifest that
 * also finds its roots (8 bytes per line, up to 2x while growing: 80-160 MB for 10 million lines),
 * then only the digests seen more than once are kept for the listing pass, which lists the first
 * occurrence and skips the others.
 *
 * The price of a digest is a false duplicate: two different URIs with one digest, about n^2/2^65
 * (3e-6 for ten million lines); the second would be skipped as a duplicate, with a warning naming it.
 */
export class DuplicateUris {
  private digests: BigUint64Array | null = new BigUint64Array(1024);
  private count = 0;
  private repeated = new Set<bigint>();
  private readonly seen = new Set<bigint>();

  /** First pass: notes one URI. */
  add(uri: string): void {
    if (this.digests === null) throw new Error('DuplicateUris.add after finish(); add every URI first');
    if (this.count === this.digests.length) {
      const grown = new BigUint64Array(this.digests.length * 2);
      grown.set(this.digests);
      this.digests = grown;
    }
    this.digests[this.count] = digest(uri);
    this.count += 1;
  }

  /** Ends the first pass: keeps the repeated digests only. Returns how many lines repeat another. */
  finish(): number {
    const sorted = (this.digests ?? new BigUint64Array()).slice(0, this.count).sort();
    this.digests = null;
    let repeats = 0;
    for (let i = 1; i < sorted.length; i += 1) {
      if (sorted[i] === sorted[i - 1]) {
        this.repeated.add(sorted[i]!);
        repeats += 1;
      }
    }
    return repeats;
  }

  /** Second pass: true for every occurrence of a URI after its first. */
  isRepeat(uri: string): boolean {
    if (this.repeated.size === 0) return false;
    const value = digest(uri);
    if (!this.repeated.has(value)) return false;
    if (this.seen.has(value)) return true;
    this.seen.add(value);
    return false;
  }
}

function digest(uri: string): bigint {
  return createHash('sha256').update(uri).digest().readBigUInt64BE(0);
}
