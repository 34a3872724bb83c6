import type { RunRecord } from '../shared/run-record.ts';

/** Derived progress figures of a run, shared by `status` and the live view of `run`. */
export interface RunProgress {
  processed: number;
  /** Images per second since the first shard started (until the run finished). */
  imagesPerSecond: number;
  /** Seconds left at the current rate; null while unknown (nothing processed yet, or listing not done). */
  etaSeconds: number | null;
  elapsedSeconds: number;
}

export function runProgress(record: RunRecord, now = new Date()): RunProgress {
  const processed = record.images.ok + record.images.error;
  const start = record.startedAt ? Date.parse(record.startedAt) : null;
  const end = record.finishedAt ? Date.parse(record.finishedAt) : now.getTime();
  const elapsedSeconds = start === null ? 0 : Math.max(0, (end - start) / 1000);
  const imagesPerSecond = elapsedSeconds > 0 ? processed / elapsedSeconds : 0;
  const remaining = Math.max(0, record.images.total - processed);
  const etaSeconds =
    record.state === 'done' ? 0 : record.listingDone && imagesPerSecond > 0 ? remaining / imagesPerSecond : null;
  return { processed, imagesPerSecond, etaSeconds, elapsedSeconds };
}
