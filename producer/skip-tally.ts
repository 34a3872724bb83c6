import type { Logger } from '../shared/observability/logger.ts';

/**
 * Counts what submit leaves out, by reason, and says why for the first few of each: a listing
 * of a million files with a million sidecar .json files must not print a million warnings.
 *   not-an-image   a name sharp does not decode (select-images.ts); logged at debug only
 *   invalid-entry  a manifest line naming no usable URI (warning with the line number)
 *   outside-roots  an object outside the run's input roots (list-inputs.ts)
 *   unchanged      same URI and ETag as an ok row of the base run of an incremental run
 *                  (incremental-filter.ts); logged at debug only
 *   unreadable     a listed entry that cannot be read (a link that loops, a folder it may not
 *                  read, a name that is not UTF-8; warning with the reason)
 *   duplicate      the same input named again in a manifest (another spelling of one path,
 *                  duplicate-uris.ts); warning with the line
 */
export type SkipReason = 'not-an-image' | 'invalid-entry' | 'outside-roots' | 'unchanged' | 'unreadable' | 'duplicate';

/** Every count at 0. */
export function noSkips(): SkipCounts {
  return { 'not-an-image': 0, 'invalid-entry': 0, 'outside-roots': 0, unchanged: 0, unreadable: 0, duplicate: 0 };
}
export type SkipCounts = Record<SkipReason, number>;

/** Warnings printed per reason before the rest are only counted. */
export const WARNINGS_PER_REASON = 20;

export class SkipTally {
  private readonly byReason: SkipCounts = noSkips();

  constructor(private readonly logger?: Logger) {}

  add(reason: SkipReason, where: string, detail: string): void {
    this.byReason[reason] += 1;
    if (reason === 'not-an-image' || reason === 'unchanged') this.logger?.debug({ uri: where }, `skipped: ${detail}`);
    else if (this.byReason[reason] <= WARNINGS_PER_REASON)
      this.logger?.warn({ where, reason }, `skipped ${where}: ${detail}`);
  }

  get total(): number {
    return Object.values(this.byReason).reduce((sum, count) => sum + count, 0);
  }

  counts(): SkipCounts {
    return { ...this.byReason };
  }

  /** One line per reason that had more than the warnings shown. */
  summarize(): void {
    for (const [reason, count] of Object.entries(this.byReason)) {
      if (count > 0) this.logger?.info({ reason, count }, `skipped ${count} input(s): ${reason}`);
    }
  }
}
