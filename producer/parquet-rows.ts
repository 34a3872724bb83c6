import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import {
  type AsyncBuffer,
  asyncBufferFromFile,
  type Compressors,
  parquetMetadataAsync,
  parquetReadObjects,
  parquetSchema,
} from 'hyparquet';
import { ConfigError, describeError } from '../shared/errors.ts';
import { localPathOf } from '../shared/storage/uri.ts';
import type { StoreOpener } from './listing-types.ts';

/**
 * The rows of a Parquet file (a URL list, an S3 Inventory data file), read with hyparquet one
 * row group at a time: memory holds one row group's values, never the file. Parquet's footer is
 * at the end and row groups are read by offset, so a file in S3 is first copied to a temporary
 * file (streamed, removed when the rows are read); a local file is read in place.
 *
 * Values come out as a list's records need them: int64 as a number (as text past 2^53), dates
 * as ISO 8601 text, and binary columns (an embedded thumbnail) left out, since they are not
 * text to carry. Codecs: uncompressed, snappy (hyparquet's own), gzip and brotli (node:zlib);
 * a zstd or lz4 file is refused with how to rewrite it.
 */
export interface ParquetRow {
  /** 1-based row number in the file, for messages. */
  number: number;
  values: Record<string, unknown>;
}

const COMPRESSORS: Compressors = {
  GZIP: (input) => new Uint8Array(gunzipSync(input)),
  BROTLI: (input) => new Uint8Array(brotliDecompressSync(input)),
};

/** The column names of a Parquet file (its top-level fields), and its rows, one row group at a time. */
export async function* parquetRows(
  uri: string,
  openStore: StoreOpener,
  onColumns?: (columns: string[]) => void,
): AsyncGenerator<ParquetRow> {
  const local = await localCopy(uri, openStore);
  try {
    let file: AsyncBuffer;
    try {
      file = await asyncBufferFromFile(local.path);
    } catch (error) {
      throw new ConfigError(`cannot open ${uri} as a Parquet file: ${describeError(error)}`, { cause: error });
    }
    const metadata = await parquetMetadataAsync(file).catch((error: unknown) => {
      throw new ConfigError(
        `${uri} is not a readable Parquet file (${describeError(error)}); write it with pyarrow, DuckDB or pandas`,
        { cause: error },
      );
    });
    onColumns?.(parquetSchema(metadata).children.map((child) => child.element.name));
    let start = 0;
    for (const group of metadata.row_groups) {
      const end = start + Number(group.num_rows);
      const rows = await parquetReadObjects({
        file,
        metadata,
        rowStart: start,
        rowEnd: end,
        utf8: false,
        compressors: COMPRESSORS,
      }).catch((error: unknown) => {
        throw new ConfigError(
          `cannot read rows ${start + 1}-${end} of ${uri}: ${describeError(error)}; rewrite the file with snappy or gzip compression if it uses another codec`,
          { cause: error },
        );
      });
      for (let i = 0; i < rows.length; i += 1) yield { number: start + i + 1, values: plainValues(rows[i]!) };
      start = end;
    }
  } finally {
    await local.release();
  }
}

function plainValues(row: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(row)) {
    const plain = plainValue(value);
    if (plain !== undefined) values[name] = plain;
  }
  return values;
}

/** A value as JSON can hold it; undefined for binary, which is left out. */
function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return undefined;
  if (Array.isArray(value)) return value.map((item) => plainValue(item) ?? null);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plainValue(item) ?? null]));
  }
  return value;
}

/** The file's local path: itself when local, else a temporary copy removed by release(). */
async function localCopy(uri: string, openStore: StoreOpener): Promise<{ path: string; release(): Promise<void> }> {
  const path = localPathOf(uri);
  if (path !== undefined) return { path, release: async () => undefined };
  const folder = await mkdtemp(join(tmpdir(), 'resnet-batch-list-'));
  const copy = join(folder, 'list.parquet');
  const store = openStore(uri);
  try {
    await pipeline(await store.readStream(uri), createWriteStream(copy));
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw error;
  } finally {
    await store.close();
  }
  return { path: copy, release: () => rm(folder, { recursive: true, force: true }) };
}
