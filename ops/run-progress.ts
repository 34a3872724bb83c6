import type { RunActivity } from '../shared/run/run-activity.ts';
import type { RunRecord } from '../shared/run/run-record.ts';

/** Derived progress figures of a run, shared by `status`, `runs`, the dashboard and the live view of `run`. */
export interface RunProgress {
  /** Images with a row, plus those of shards still in flight (a worker reports each batch). */
  processed: number;
  /**
   * Mean images per second of this attempt: the images it processed (not those a resumed run
   * found committed on storage, RunRecord.images.reused) over the time since its first shard
   * started (until the run finished).
   */
  imagesPerSecond: number;
  /** Images per second over the last minute, or over the elapsed time before a minute has passed; 0 when nothing was processed in it. */
  recentImagesPerSecond: number;
  /** Seconds left at the recent rate (the mean when the last minute saw nothing); null while unknown. */
  etaSeconds: number | null;
  elapsedSeconds: number;
}

/** What workers reported between shard completions (shared/run/run-activity.ts). */
export interface ActivitySnapshot {
  inFlight: number;
  /** Images processed in the recent window, which spans `recentSeconds` (about a minute). */
  recentImages: number;
  recentSeconds: number;
}

const NO_ACTIVITY: ActivitySnapshot = { inFlight: 0, recentImages: 0, recentSeconds: 0 };

export function runProgress(
  record: RunRecord,
  activity: ActivitySnapshot = NO_ACTIVITY,
  now = new Date(),
): RunProgress {
  const finished = record.finishedAt !== null;
  const counted = record.images.ok + record.images.error;
  // Before listing is done the total grows, so in-flight images are not capped by it.
  const ceiling = record.listingDone ? record.images.total : Number.POSITIVE_INFINITY;
  const processed = finished ? counted : Math.min(ceiling, counted + activity.inFlight);
  const start = record.startedAt ? Date.parse(record.startedAt) : null;
  const end = record.finishedAt ? Date.parse(record.finishedAt) : now.getTime();
  const elapsedSeconds = start === null ? 0 : Math.max(0, (end - start) / 1000);
  const rates = progressRates({
    ownImages: Math.max(0, processed - (record.images.reused ?? 0)),
    elapsedSeconds,
    recentImages: finished ? 0 : activity.recentImages,
    recentSeconds: activity.recentSeconds,
  });
  const rate = rates.recentImagesPerSecond > 0 ? rates.recentImagesPerSecond : rates.imagesPerSecond;
  const remaining = Math.max(0, record.images.total - processed);
  const etaSeconds = finished ? 0 : record.listingDone && rate > 0 ? remaining / rate : null;
  return { processed, ...rates, etaSeconds, elapsedSeconds };
}

/**
 * The two rates of a run, from counts and clocks alone. The recent window (about a minute) is cut
 * to the elapsed time while the run is younger than it: the window's images were all processed
 * since the start, so dividing them by a whole minute seven seconds in would say a fraction of the
 * real speed (and an ETA several times too long).
 */
export function progressRates(figures: {
  /** Images this attempt processed. */
  ownImages: number;
  /** Seconds since this attempt's first shard started. */
  elapsedSeconds: number;
  /** Images processed in the recent window, and the seconds it spans. */
  recentImages: number;
  recentSeconds: number;
}): { imagesPerSecond: number; recentImagesPerSecond: number } {
  const { ownImages, elapsedSeconds, recentImages, recentSeconds } = figures;
  const recentSpan = Math.min(recentSeconds, elapsedSeconds);
  return {
    imagesPerSecond: elapsedSeconds > 0 ? ownImages / elapsedSeconds : 0,
    recentImagesPerSecond: recentSpan > 0 ? recentImages / recentSpan : 0,
  };
}

/** The run's progress with what its workers reported since their last completed shard. */
export async function readRunProgress(activity: RunActivity, record: RunRecord): Promise<RunProgress> {
  if (record.finishedAt !== null) return runProgress(record);
  return runProgress(record, await activity.read(record.run));
}

/** Seconds as h:mm:ss (or m:ss under an hour), for ETAs and durations on a terminal. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const secs = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${secs}` : `${minutes}:${secs}`;
}

/** The state, with what needs a person: failed shards, a failed finaliser. */
export function stateWithFailures(record: RunRecord): string {
  const failures = [
    ...(record.shards.failed > 0 ? [`${record.shards.failed} shard(s) failed`] : []),
    ...(record.finalizeError !== null ? ['finalising failed'] : []),
  ];
  return failures.length > 0 ? `${record.state}, ${failures.join(', ')}` : record.state;
}

/**
 * How a finished run ends for a script: 0 only when every input has an ok row; 2 when any has an
 * error row (a run of 62 refused web URLs is no success) or a shard failed for good. `run` and
 * `status --wait` both end with it.
 */
export function runExitCode(record: RunRecord): number {
  return record.shards.failed === 0 && record.images.error === 0 ? 0 : 2;
}
