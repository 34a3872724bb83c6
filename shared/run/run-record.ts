/**
 * What Redis keeps about a run, as the CLI and the manifest see it. shared/run/run-registry.ts reads
 * and writes it; this file holds the shapes only.
 *
 * A run is `queued` until a worker starts its first shard, `running` until every shard is done or
 * failed and the manifest is written, then `done`. Counters count each shard exactly once,
 * however many times it was attempted: a shard's images are added when the shard first completes.
 */
import type { RunFields } from './run-options.ts';

export type RunState = 'queued' | 'running' | 'done';

/** The run's definition (RunFields, declared in run-options.ts) with what Redis counts about it. */
export interface RunRecord extends RunFields {
  run: string;
  state: RunState;
  createdAt: string;
  /** When this registry saw the run's first shard start: a resumed run's (in a new Redis) is the resume's. */
  startedAt: string | null;
  /**
   * When the run's first attempt started, as its committed shards record it (a run resumed in a
   * new Redis, like `run` again after a stop); null (or absent) when no earlier attempt is known.
   * The manifest's started_at.
   */
  firstStartedAt?: string | null;
  finishedAt: string | null;
  /** True once the producer has enqueued every shard; totals are final from then on. */
  listingDone: boolean;
  /**
   * Images enqueued (total), with a row (ok, error), and left out at submit (skipped): of those,
   * `unchanged` since the base run of an incremental run, the rest not images or unreadable.
   */
  images: {
    total: number;
    ok: number;
    error: number;
    skipped: number;
    unchanged: number;
    /**
     * Of ok and error, the images of shards a resubmission found committed on storage (a resumed
     * run), counted without being processed again: the rates leave them out. Absent: none.
     */
    reused?: number;
  };
  shards: { total: number; done: number; failed: number; failedShards: number[] };
  /** Engines that produced this run's results (normally one). */
  engines: string[];
  /**
   * sha256 of the model's weights as submit found them (model/check-model.ts); a worker that
   * loaded other weights under the same reference refuses the run's shards. Null (or absent) for
   * runs submitted before it was recorded.
   */
  modelSha256?: string | null;
  /** Name of the schedule that fired this run; null (or absent) for a run submitted by hand. */
  schedule?: string | null;
  /** Why the finaliser failed for good (its attempts spent); null while it has not, or after `retry`. */
  finalizeError: string | null;
}
