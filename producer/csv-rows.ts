import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CsvError, parse } from 'csv-parse';
import { ConfigError } from '../shared/errors.ts';
import type { StoreOpener } from './listing-types.ts';

/**
 * The rows of a CSV file (a URL list, an S3 Inventory data file), streamed through csv-parse: one
 * record in memory at a time, whatever the file's size. RFC 4180 quoting (a caption may hold
 * commas, quotes and newlines), a UTF-8 byte order mark dropped, empty lines skipped, `\r\n`
 * line ends. Values stay text: CSV has no types, so an id like 007 keeps its zeros.
 *
 * A file that is not valid CSV (a row with another number of fields than the header, an
 * unclosed quote, a record over MAX_RECORD_CHARS) is refused with the line and what to fix;
 * the pass before anything is enqueued reads the whole file, so nothing is enqueued from it.
 */
export interface CsvRow {
  /** Line of the file where the record ends (1-based, the header included), for messages. */
  number: number;
  values: Record<string, string>;
}

export interface CsvRowsOptions {
  /** Field names when the file has no header row (S3 Inventory); default: the first row names them. */
  columns?: readonly string[];
  /** The file is gzip-compressed (.csv.gz). */
  gzip?: boolean;
  /** Told the header's field names before the first row. */
  onColumns?: (columns: string[]) => void;
}

/** Longest record taken, in characters: 32 carried fields of captions with room to spare. */
export const MAX_RECORD_CHARS = 512 * 1024;

export async function* csvRows(
  uri: string,
  openStore: StoreOpener,
  options: CsvRowsOptions = {},
): AsyncGenerator<CsvRow> {
  const store = openStore(uri);
  let source: Readable | undefined;
  try {
    source = await store.readStream(uri);
    const parser = parse({
      bom: true,
      skip_empty_lines: true,
      max_record_size: MAX_RECORD_CHARS,
      info: true,
      columns:
        options.columns === undefined
          ? (header: string[]) => {
              const names = header.map((name) => name.trim());
              options.onColumns?.(names);
              return names;
            }
          : [...options.columns],
    });
    const input = options.gzip === true ? source.pipe(createGunzip()) : source;
    input.on('error', (error) => parser.destroy(error));
    input.pipe(parser);
    for await (const record of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      yield { number: record.info.lines, values: record.record };
    }
  } catch (error) {
    if (error instanceof CsvError) {
      const line = (error as CsvError & { lines?: number }).lines;
      throw new ConfigError(
        `${uri} is not valid CSV${line === undefined ? '' : ` at line ${line}`}: ${error.message}; quote fields that hold commas or quotes ("a, b"), and give every row as many fields as the header`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    source?.destroy();
    await store.close();
  }
}
