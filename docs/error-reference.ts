import { ERROR_CODE_ROWS } from '../shared/error-codes.ts';
import { cell, table } from './markdown.ts';

/** README's error-code table: one row per entry of ERROR_CODE_ROWS (shared/error-codes.ts), in its order. */
export function errorReference(): string {
  return table(
    ['code', 'where', 'meaning', 'retry helps', 'fix'],
    ERROR_CODE_ROWS.map((row) => [
      `\`${row.code}\``,
      row.arises.join(', '),
      cell(row.meaning),
      row.retryable === 'varies' ? 'varies' : row.retryable ? 'yes' : 'no',
      cell(row.fix),
    ]),
  );
}
