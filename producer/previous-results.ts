import { tableFromIPC, type Table } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { ConfigError, describeError } from '../shared/errors.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import { joinUri } from '../shared/storage/uri.ts';
import { UriEtagSet } from './uri-etag-set.ts';

/**
 * What a finished run already processed: the (uri, etag) of every metadata row with status 'ok',
 * read from `<output>/<run>/metadata/part-*.parquet` (shared/output/output-format.ts). Only three columns
 * are decoded, one part at a time per reader, so memory is the UriEtagSet plus PARTS_IN_FLIGHT
 * parts. Error rows are left out on purpose: an image that failed is tried again next time.
 * Rows without an ETag (a .txt manifest lists none) are left out too: nothing proves them unchanged.
 */

/** Largest metadata part read, in bytes: one shard's rows are tens of kB; this refuses a stray huge object. */
export const MAX_METADATA_PART_BYTES = 256 * 1024 * 1024;

/** Parts read at once: enough to hide S3 latency, few enough that memory stays a handful of parts. */
export const PARTS_IN_FLIGHT = 8;

const COLUMNS = ['uri', 'etag', 'status'];

export interface PreviousResults {
  parts: number;
  /** Metadata rows read, ok or not. */
  rows: number;
}

/** Adds the run's ok (uri, etag) pairs to `pairs` (not frozen: several runs may be added). */
export async function loadPreviousResults(store: ObjectStore, output: string, run: string, pairs: UriEtagSet): Promise<PreviousResults> {
  const folder = joinUri(output, `${run}/metadata`);
  let parts = 0;
  let rows = 0;
  try {
    for await (const page of store.list(`${folder}/`)) {
      const wanted = page.filter((info) => /\/part-\d+\.parquet$/.test(info.uri));
      for (let start = 0; start < wanted.length; start += PARTS_IN_FLIGHT) {
        const tables = await Promise.all(wanted.slice(start, start + PARTS_IN_FLIGHT).map((info) => readPart(store, info.uri)));
        for (const table of tables) {
          parts += 1;
          rows += table.numRows;
          addOkRows(table, pairs);
        }
      }
    }
  } catch (error) {
    throw new ConfigError(`cannot read the results of base run ${run} under ${folder}: ${describeError(error)}; check that the run's output is still there and readable, or submit without --since`, { cause: error });
  }
  return { parts, rows };
}

async function readPart(store: ObjectStore, uri: string): Promise<Table> {
  const bytes = await store.read(uri, { maxBytes: MAX_METADATA_PART_BYTES });
  return tableFromIPC(readParquet(bytes, { columns: COLUMNS }).intoIPCStream());
}

function addOkRows(table: Table, pairs: UriEtagSet): void {
  const uris = table.getChild('uri');
  const etags = table.getChild('etag');
  const statuses = table.getChild('status');
  if (uris === null || etags === null || statuses === null) throw new Error('a metadata part lacks the uri, etag or status column (expected the columns of shared/output/output-format.ts)');
  for (let i = 0; i < table.numRows; i += 1) {
    const etag = String(etags.get(i) ?? '');
    if (statuses.get(i) === 'ok' && etag !== '') pairs.add(String(uris.get(i)), etag);
  }
}
