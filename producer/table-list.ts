import { ConfigError } from '../shared/errors.ts';
import { carriedColumnNamesProblem } from '../shared/output/columns.ts';
import { LISTING_FIELDS } from './carried-fields.ts';
import { csvRows } from './csv-rows.ts';
import type { ManifestItem, StoreOpener } from './listing-types.ts';
import { parseManifestRecord } from './manifest-entry.ts';
import { parquetRows } from './parquet-rows.ts';

/**
 * A table of images: a CSV or Parquet file with one row per image, as web-scraped datasets come
 * (img2dataset's input: a `url` column and a `caption`, often more). The image is the URL column:
 * `--url-column` when given, else `url`, else `uri`. `size` and `etag` columns are listing facts
 * (an `etag` lets `--since` skip unchanged images); every other column is carried into the
 * image's output rows, with its name (producer/carried-fields.ts). Rows are read in bounded
 * memory: CSV streamed record by record, Parquet one row group at a time.
 *
 * A row without a URL is skipped with its row number, like a bad manifest line; a file without
 * the URL column is refused naming the columns it has.
 */
export const DEFAULT_URL_COLUMNS = ['url', 'uri'] as const;

export async function* tableEntries(
  uri: string,
  format: 'csv' | 'parquet',
  openStore: StoreOpener,
  urlColumn: string | undefined,
): AsyncGenerator<ManifestItem> {
  let column: string | undefined;
  const chooseColumn = (columns: string[]) => {
    column = urlColumnOf(uri, columns, urlColumn);
    const carried = columns.filter((name) => name !== column && !LISTING_FIELDS.has(name));
    const problem = carriedColumnNamesProblem(carried);
    if (problem !== null) throw new ConfigError(`${uri} cannot be carried into the output: ${problem}`);
  };
  const rows =
    format === 'csv' ? csvRows(uri, openStore, { onColumns: chooseColumn }) : parquetRows(uri, openStore, chooseColumn);
  for await (const row of rows) {
    const where = `${uri}:${row.number}`;
    const parsed = parseManifestRecord(row.values, column!, uri);
    if (parsed.kind === 'entry') yield { info: parsed.info, fields: parsed.fields, where };
    else if (parsed.kind === 'invalid') yield { reason: 'invalid-entry', where, detail: parsed.reason };
  }
}

function urlColumnOf(uri: string, columns: readonly string[], requested: string | undefined): string {
  const candidates = requested === undefined ? DEFAULT_URL_COLUMNS : [requested];
  const found = candidates.find((candidate) => columns.includes(candidate));
  if (found !== undefined) return found;
  const has = columns.length === 0 ? 'no columns' : `columns ${columns.map((name) => `'${name}'`).join(', ')}`;
  throw new ConfigError(
    requested === undefined
      ? `${uri} has no 'url' or 'uri' column (it has ${has}); name the column of image URLs with --url-column`
      : `${uri} has no column '${requested}' (it has ${has}); fix --url-column`,
  );
}
