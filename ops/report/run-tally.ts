import type { ErrorCount, LabelCount } from './report-data.ts';

/** What the report needs of one row of a run, ok or failed (see shared/output/columns.ts). */
export interface ReportRow {
  uri: string;
  status: 'ok' | 'error';
  error: string | null;
  /** Top-1 label; null on error rows. */
  label: string | null;
  /** Top-1 probability, 0..1; null on error rows. */
  score: number | null;
  /** When the row's shard finished, ms since the epoch. */
  processedAtMs: number;
  /** The shard the row was written by. */
  shard: number;
}

/** A candidate thumbnail: one of a class's most confident images. */
export interface SampleCandidate {
  uri: string;
  score: number;
}

/**
 * Running counts over every metadata row of a run, in memory bounded by the number of distinct
 * labels (at most 1000), error codes and seconds of run time, never by the number of rows: a run
 * of millions of images is read part by part and only tallied.
 */
export class RunTally {
  rows = 0;
  /** Images per second of processed_at, keyed by the second's start in ms since the epoch. */
  readonly perSecond = new Map<number, number>();
  private readonly labelCounts = new Map<string, number>();
  private readonly labelSamples = new Map<string, SampleCandidate[]>();
  private readonly errorCounts = new Map<string, ErrorCount>();
  /** The first error rows, in the order read (shard order), for the failed-files table. */
  readonly firstErrorRows: ReportRow[] = [];

  /**
   * @param samplesPerLabel most confident images kept per label, the thumbnail candidates.
   * @param errorRowsKept error rows kept whole, for the failed-files table.
   */
  constructor(
    private readonly samplesPerLabel: number,
    private readonly errorRowsKept = 100,
  ) {}

  add(row: ReportRow): void {
    this.rows += 1;
    const second = Math.floor(row.processedAtMs / 1000) * 1000;
    this.perSecond.set(second, (this.perSecond.get(second) ?? 0) + 1);
    if (row.status === 'error') {
      this.addError(row.error ?? 'UNKNOWN: no error message');
      if (this.firstErrorRows.length < this.errorRowsKept) this.firstErrorRows.push(row);
      return;
    }
    if (row.label === null) return;
    this.labelCounts.set(row.label, (this.labelCounts.get(row.label) ?? 0) + 1);
    this.keepSample(row.label, { uri: row.uri, score: row.score ?? 0 });
  }

  /** The `limit` most frequent top-1 labels; ties by name, so the order is stable. */
  topLabels(limit: number): LabelCount[] {
    return [...this.labelCounts]
      .map(([label, count]) => ({ label, count }))
      .sort((a, b) => b.count - a.count || a.label.localeCompare(b.label))
      .slice(0, limit);
  }

  /** Error rows counted, all codes. */
  get errorRows(): number {
    let total = 0;
    for (const entry of this.errorCounts.values()) total += entry.count;
    return total;
  }

  /** Error codes, most frequent first. */
  errors(): ErrorCount[] {
    return [...this.errorCounts.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
  }

  /** Kept candidates of a label, most confident first. */
  samples(label: string): SampleCandidate[] {
    return this.labelSamples.get(label) ?? [];
  }

  private addError(message: string): void {
    const code = errorCode(message);
    const entry = this.errorCounts.get(code);
    if (entry) entry.count += 1;
    else this.errorCounts.set(code, { code, count: 1, example: message });
  }

  private keepSample(label: string, candidate: SampleCandidate): void {
    const kept = this.labelSamples.get(label) ?? [];
    if (kept.length === this.samplesPerLabel && kept[kept.length - 1]!.score >= candidate.score) return;
    kept.push(candidate);
    kept.sort((a, b) => b.score - a.score);
    if (kept.length > this.samplesPerLabel) kept.pop();
    this.labelSamples.set(label, kept);
  }
}

/** 'DECODE_FAILED: premature end...' -> 'DECODE_FAILED'; a message without a code is 'UNKNOWN'. */
export function errorCode(message: string): string {
  const match = /^([A-Z][A-Z0-9_]*):/.exec(message);
  return match ? match[1]! : 'UNKNOWN';
}
