import { DuckDBInstance } from '@duckdb/node-api';

/**
 * Writes the rows of a DuckDB query to a file with DuckDB's own writer (Parquet, or CSV with a
 * header): list files made by an independent, widely used writer, as users' lists are, rather
 * than by our own code. `options` is DuckDB's COPY option list, e.g. `FORMAT parquet, ROW_GROUP_SIZE 1000`.
 */
export async function copyQueryTo(query: string, path: string, options: string): Promise<void> {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    await connection.run(`COPY (${query}) TO '${path.replaceAll("'", "''")}' (${options})`);
  } finally {
    connection.closeSync();
    db.closeSync();
  }
}
