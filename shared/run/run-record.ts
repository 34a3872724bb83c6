/**
 * What Redis keeps about a run, as the CLI and the manifest see it. shared/run/run-registry.ts reads
 * and writes it; this file holds the shapes only.
 *
 * A run is `queued` until a worker starts its first shard, `running` until every shard is done or
 * failed and the manifest is written, then `done`. Counters count each shard exactly once,
 * however many times it was attempted: a shard's images are added when the shard first completes.
 */
import type { Precision } from '../inference/precision.ts';
import type { CarriedColumn } from '../output/columns.ts';

export type RunState = 'queued' | 'running' | 'done';

export interface RunRecord {
  run: string;
  state: RunState;
  /** Input as given to submit (prefix URI, folder or manifest file URI). */
  input: string;
  /** Root output URI; results live under `<output>/<run>/`. */
  output: string;
  /** Model URI the workers load. */
  model: string;
  /** Precision the workers run the model at (shared/inference/precision.ts); 'fp32' for runs that predate it. */
  precision: Precision;
  /** Roots every image URI of the run lies under (checked again by the worker). */
  inputRoots: string[];
  /** Images per shard (submit --shard-size). */
  shardSize: number;
  /** L2-normalised vectors (`--normalize`). */
  normalize: boolean;
  /** Extra fields of the input's lines carried into every part, with their types (fixed at submit). */
  carriedColumns: CarriedColumn[];
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
   * Base run of an incremental run (`submit --since`, `schedule add --incremental`): images whose
   * URI and ETag had an ok row there were skipped as unchanged. Null (or absent) for a full run.
   */
  since?: string | null;
  /**
   * sha256 of the model's weights as submit found them (model/check-model.ts); a worker that
   * loaded other weights under the same reference refuses the run's shards. Null (or absent) for
   * runs submitted before it was recorded.
   */
  modelSha256?: string | null;
  /** Name of the schedule that fired this run; null (or absent) for a run submitted by hand. */
  schedule?: string | null;
  /**
   * The column of image URLs of a CSV or Parquet list, when `--url-column` named one; null (or
   * absent) for the default (`url`, else `uri`) and for other inputs. `verify` lists with it.
   */
  urlColumn?: string | null;
  /** Why the finaliser failed for good (its attempts spent); null while it has not, or after `retry`. */
  finalizeError: string | null;
}
