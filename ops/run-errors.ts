import { readShardRows } from '../shared/output/read-parts.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';

/**
 * What a run's error rows say, read back from its `errors/` parts (shared/output/read-parts.ts):
 * the codes with their counts and the first reason of each, for `run`'s closing summary, and the
 * inputs that failed, for `resnet-batch failed` (a list a new run takes). Each error row reads
 * `CODE: reason` (worker/write-parts.ts refuses any other), and the reason already says how to
 * fix it, so the summary quotes it rather than explaining codes again.
 */

/** One error code of a run: how many inputs failed with it, and the first of their reasons. */
export interface ErrorCodeCount {
  code: string;
  count: number;
  /** The reason of its first row, in shard order, without the `CODE: ` prefix. */
  firstReason: string;
}

/** Codes shown in a summary: the rest are counted together, `verify --json` and the report list them all. */
export const SUMMARY_CODES = 5;

/** The run's failed inputs (uri and `CODE: reason`), shard by shard, a few parts in memory at a time. */
export async function* readErrorRows(
  store: ObjectStore,
  output: string,
  run: string,
): AsyncGenerator<{ uri: string; error: string }> {
  for await (const shard of readShardRows(store, output, run, { ok: [], error: ['uri', 'error'] })) {
    for (const row of shard.errors) yield { uri: String(row.uri), error: String(row.error) };
  }
}

/** Every code of the rows, most frequent first (ties: the code first met first). */
export async function countErrorCodes(rows: AsyncIterable<{ error: string }>): Promise<ErrorCodeCount[]> {
  const byCode = new Map<string, ErrorCodeCount>();
  for await (const { error } of rows) {
    const { code, reason } = splitError(error);
    const known = byCode.get(code);
    if (known) known.count += 1;
    else byCode.set(code, { code, count: 1, firstReason: reason });
  }
  return [...byCode.values()].sort((a, b) => b.count - a.count);
}

/** `CODE: reason` into its parts; a row without a code (format 1, hand-made) is UNKNOWN. */
function splitError(error: string): { code: string; reason: string } {
  const match = /^([A-Z][A-Z0-9_]*): ([\s\S]*)$/.exec(error);
  return match ? { code: match[1] ?? 'UNKNOWN', reason: match[2] ?? '' } : { code: 'UNKNOWN', reason: error };
}

/** The summary lines: one per code (`  3 DECODE_FAILED: <first reason>`), the rest counted together. */
export function errorCodeLines(codes: readonly ErrorCodeCount[], limit = SUMMARY_CODES): string[] {
  const shown = codes.slice(0, limit).map((entry) => `  ${entry.count} ${entry.code}: ${entry.firstReason}`);
  const rest = codes.slice(limit);
  const others = rest.reduce((sum, entry) => sum + entry.count, 0);
  return rest.length === 0 ? shown : [...shown, `  ${others} more in ${rest.length} other code(s)`];
}
