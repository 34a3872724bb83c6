import type { ManifestItem, StoreOpener } from './listing-types.ts';
import { type ManifestFormat, parseManifestLine } from './manifest-entry.ts';
import { DEFAULT_MAX_LINE_BYTES, manifestLines } from './manifest-lines.ts';
import { inventoryEntries } from './s3-inventory.ts';
import { tableEntries } from './table-list.ts';

/**
 * The entries of a list file, whatever its format (manifest-entry.ts lists them): each the image
 * it names with the fields it carries, or why it is skipped. Read in bounded memory, line by line,
 * record by record or row group by row group; called once for the pass that fixes the run's roots
 * and columns, and once more for the listing itself.
 */
export interface ManifestReadOptions {
  openStore: StoreOpener;
  /** Longest .txt/.jsonl line in bytes (default 8 KiB); longer lines are skipped, not buffered. */
  maxLineBytes?: number;
  /** The column of image URLs in a CSV or Parquet list; default `url`, else `uri` (table-list.ts). */
  urlColumn?: string;
}

export function manifestEntries(
  input: { uri: string; format?: ManifestFormat },
  options: ManifestReadOptions,
): AsyncGenerator<ManifestItem> {
  const format = input.format ?? 'txt';
  if (format === 'csv' || format === 'parquet')
    return tableEntries(input.uri, format, options.openStore, options.urlColumn);
  if (format === 's3-inventory') return inventoryEntries(input.uri, options.openStore);
  return lineEntries(input.uri, format, options);
}

async function* lineEntries(
  uri: string,
  format: 'txt' | 'jsonl',
  options: ManifestReadOptions,
): AsyncGenerator<ManifestItem> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const store = options.openStore(uri);
  try {
    const stream = await store.readStream(uri);
    try {
      for await (const line of manifestLines(stream, maxLineBytes)) {
        const where = `${uri}:${line.number}`;
        if (line.tooLong === true) {
          yield {
            reason: 'invalid-entry',
            where,
            detail: `line is ${line.bytes} bytes, over the ${maxLineBytes}-byte limit`,
          };
          continue;
        }
        const parsed = parseManifestLine(line.text, format, uri);
        if (parsed.kind === 'entry') yield { info: parsed.info, fields: parsed.fields, where };
        else if (parsed.kind === 'invalid') yield { reason: 'invalid-entry', where, detail: parsed.reason };
      }
    } finally {
      stream.destroy();
    }
  } finally {
    await store.close();
  }
}
