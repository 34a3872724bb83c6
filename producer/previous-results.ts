import type { Table } from 'apache-arrow';
import { ConfigError, describeError } from '../shared/errors.ts';
import { listMetadataParts, readPartColumns } from '../shared/output/read-parts.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import { joinUri } from '../shared/storage/uri.ts';
import type { UriEtagSet } from './uri-etag-set.ts';

/**
 * What a finished run already processed: the (uri, etag) of every metadata row with status 'ok',
 * read from `<output>/<run>/metadata/part-*.parquet` (shared/output/output-format.ts). Only three columns
 * are decoded, one part at a time per reader, so memory is the UriEtagSet plus PARTS_IN_FLIGHT
 * parts. Error rows are left out on purpose: an image that failed is tried again next time.
 * Rows without an ETag (a .txt manifest lists none) are left out too: nothing proves them unchanged.
 */

/** Parts read at once: enough to hide S3 latency, few enough that memory stays a handful of parts. */
export const PARTS_IN_FLIGHT = 8;

const COLUMNS = ['uri', 'etag', 'status'];

export interface PreviousResults {
  parts: number;
  /** Metadata rows read, ok or not. */
  rows: number;
}

/** Adds the run's ok (uri, etag) pairs to `pairs` (not frozen: several runs may be added). */
export async function loadPreviousResults(
  store: ObjectStore,
  output: string,
  run: string,
  pairs: UriEtagSet,
): Promise<PreviousResults> {
  const folder = joinUri(output, `${run}/metadata`);
  let parts = 0;
  let rows = 0;
  try {
    const wanted = await listMetadataParts(store, output, run);
    for (let start = 0; start < wanted.length; start += PARTS_IN_FLIGHT) {
      const tables = await Promise.all(
        wanted.slice(start, start + PARTS_IN_FLIGHT).map((part) => readPartColumns(store, part.uri, COLUMNS)),
      );
      for (const table of tables) {
        parts += 1;
        rows += table.numRows;
        addOkRows(table, pairs);
      }
    }
  } catch (error) {
    throw new ConfigError(
      `cannot read the results of base run ${run} under ${folder}: ${describeError(error)}; check that the run's output is still there and readable, or submit without --since`,
      { cause: error },
    );
  }
  return { parts, rows };
}

function addOkRows(table: Table, pairs: UriEtagSet): void {
  const uris = table.getChild('uri');
  const etags = table.getChild('etag');
  const statuses = table.getChild('status');
  if (uris === null || etags === null || statuses === null)
    throw new Error(
      'a metadata part lacks the uri, etag or status column (expected the columns of shared/output/output-format.ts)',
    );
  for (let i = 0; i < table.numRows; i += 1) {
    const etag = String(etags.get(i) ?? '');
    if (statuses.get(i) === 'ok' && etag !== '') pairs.add(String(uris.get(i)), etag);
  }
}
