import { ConfigError, describeError } from '../shared/errors.ts';
import { readShardRows } from '../shared/output/read-parts.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import { joinUri } from '../shared/storage/uri.ts';
import type { UriEtagSet } from './uri-etag-set.ts';

/**
 * What a finished run already processed: the (uri, etag) of every image that succeeded, read from
 * its metadata parts (shared/output/read-parts.ts, either output format). Only two columns are
 * decoded, a few parts at a time, so memory is the UriEtagSet plus a handful of parts. Failed
 * inputs are left out on purpose: an image that failed is tried again next time. Rows without an
 * ETag (a .txt manifest lists none) are left out too: nothing proves them unchanged.
 */
export interface PreviousResults {
  parts: number;
  /** Rows read, ok or not. */
  rows: number;
}

/** Adds the run's ok (uri, etag) pairs to `pairs` (not frozen: several runs may be added). */
export async function loadPreviousResults(
  store: ObjectStore,
  output: string,
  run: string,
  pairs: UriEtagSet,
): Promise<PreviousResults> {
  let parts = 0;
  let rows = 0;
  try {
    for await (const shard of readShardRows(store, output, run, { ok: ['uri', 'etag'], error: ['uri'] })) {
      parts += 1;
      rows += shard.ok.length + shard.errors.length;
      for (const row of shard.ok) {
        const etag = String(row.etag ?? '');
        if (etag !== '') pairs.add(String(row.uri), etag);
      }
    }
  } catch (error) {
    throw new ConfigError(
      `cannot read the results of base run ${run} under ${joinUri(output, `${run}/`)}: ${describeError(error)}; check that the run's output is still there and readable, or submit without --since`,
      { cause: error },
    );
  }
  return { parts, rows };
}
