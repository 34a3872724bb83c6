import { type Table, tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import type { ObjectStore } from '../storage/object-store.ts';
import { joinUri, relativeKeyWithin } from '../storage/uri.ts';

/**
 * The one reader of a run's output parts (the layout of output-format.ts), for everything that
 * reads results back: incremental runs (producer/previous-results.ts) and the run report
 * (ops/report/). Parts are listed under their folder and read one at a time, decoding only the
 * columns asked for, so memory is one part however large the run.
 */

/**
 * Largest part read, in bytes. A part holds one shard (256 rows by default, a few tens of kB);
 * 256 MiB leaves room for shards of hundreds of thousands of images while refusing a stray huge
 * object before it is buffered.
 */
export const MAX_PART_BYTES = 256 * 1024 * 1024;

export interface OutputPart {
  /** Shard index parsed from the file name. */
  shard: number;
  uri: string;
}

/** The run's `metadata/part-N.parquet` parts, in shard order (by the parsed number, see output-format.ts). */
export async function listMetadataParts(store: ObjectStore, output: string, run: string): Promise<OutputPart[]> {
  const folder = joinUri(output, `${run}/metadata`);
  const parts: OutputPart[] = [];
  for await (const page of store.list(`${folder}/`)) {
    for (const info of page) {
      const match = /^part-(\d+)\.parquet$/.exec(relativeKeyWithin(folder, info.uri) ?? '');
      if (match) parts.push({ shard: Number(match[1]), uri: info.uri });
    }
  }
  return parts.sort((a, b) => a.shard - b.shard);
}

/** One Parquet part as an Arrow table of the given columns (snake_case names of output-format.ts). */
export async function readPartColumns(store: ObjectStore, uri: string, columns: readonly string[]): Promise<Table> {
  const bytes = await store.read(uri, { maxBytes: MAX_PART_BYTES });
  return tableFromIPC(readParquet(bytes, { columns: [...columns] }).intoIPCStream());
}
