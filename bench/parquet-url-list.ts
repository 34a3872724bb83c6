import { fileURLToPath } from 'node:url';
import { copyQueryTo } from '../test/harness/duckdb-copy.ts';

/**
 * A web-scraped style URL list for the producer memory bench: `rows` rows of `url` (https URLs on
 * 100 hosts) and `caption`, written by DuckDB in its default row groups of 122,880 rows, snappy,
 * as a dataset would come (img2dataset's input). 10M rows are about 200 MB and take DuckDB a few
 * seconds to write.
 *
 *   node --import tsx bench/parquet-url-list.ts <rows> <path>
 */
export async function writeParquetUrlList(path: string, rows: number): Promise<void> {
  await copyQueryTo(
    `SELECT 'https://img' || (i % 100) || '.example.com/photos/' || lpad(i::VARCHAR, 9, '0') || '.jpg' AS url,
            'a photo, number ' || i AS caption
     FROM range(${Math.floor(rows)}) t(i)`,
    path,
    'FORMAT parquet, COMPRESSION snappy',
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeParquetUrlList(process.argv[3] ?? 'list.parquet', Number(process.argv[2] ?? 1_000_000));
}
