/**
 * What the run report shows, gathered before any HTML is written: report-command.ts collects it
 * (Redis, the run's Parquet metadata, _manifest.json, thumbnails) and render-report.ts turns it
 * into a page. No I/O here: shapes only.
 */

/** The run's headline numbers, from _manifest.json when the run finished, else the run record. */
export interface ReportTotals {
  /** Where the numbers come from: the manifest is final, the run record may still move. */
  source: 'manifest' | 'run record';
  state: 'queued' | 'running' | 'done';
  input: string;
  output: string;
  model: string;
  engines: string[];
  images: { total: number; ok: number; error: number; skipped: number };
  shards: { total: number; done: number; failed: number; failedShards: number[] };
  /** ISO 8601 UTC; null before the first shard started or before the run finished. */
  startedAt: string | null;
  finishedAt: string | null;
}

/** Images whose shard finished inside one time bucket. */
export interface ThroughputBucket {
  /** Bucket start, milliseconds since the epoch (UTC). */
  startMs: number;
  images: number;
}

export interface ThroughputSeries {
  /** Width of every bucket in seconds, one of a few round values (see throughput-buckets.ts). */
  bucketSeconds: number;
  /** Consecutive buckets from the first shard's finish to the last one's; empty buckets included. */
  buckets: ThroughputBucket[];
}

export interface LabelCount {
  label: string;
  /** Images whose top-1 label this is. */
  count: number;
}

export interface ErrorCount {
  /** Stable error code, e.g. DECODE_FAILED (the part of the row's error before the first ':'). */
  code: string;
  count: number;
  /** One full error message of this code, to show what it looks like. */
  example: string;
}

export interface Thumbnail {
  uri: string;
  /** Top-1 probability of the image, 0..1. */
  score: number;
  /** `data:image/jpeg;base64,...`. */
  dataUri: string;
}

export interface ClassSamples {
  label: string;
  /** Images of this class in the run (all of them, not only those shown). */
  count: number;
  thumbnails: Thumbnail[];
}

/** A shard that failed for good: its images have no row at all until `retry`. */
export interface FailedShard {
  shard: number;
  /** Why its last attempt failed (the BullMQ job's failedReason); null when the job is gone. */
  reason: string | null;
  /** URIs of its images, from the job's payload; empty when the job is gone. */
  uris: string[];
}

/** An input without an ok row: an error row, or an image of a failed shard. */
export interface FailedFile {
  uri: string;
  reason: string;
  /** The errors part that holds its row; null for an image of a failed shard (no row). */
  part: string | null;
}

export interface ReportData {
  run: string;
  /** ISO 8601 UTC time the report was made. */
  generatedAt: string;
  totals: ReportTotals;
  /** Metadata rows read from the run's Parquet parts (ok + error). */
  rowsRead: number;
  partsRead: number;
  throughput: ThroughputSeries;
  /** Most frequent top-1 labels, most frequent first. */
  labels: LabelCount[];
  /** Error codes, most frequent first. */
  errors: ErrorCount[];
  failedShards: FailedShard[];
  /** Why the finaliser failed for good (the manifest is not written); null when it has not. */
  finalizeError: string | null;
  /** The first failed files (images of failed shards first, then error rows), and how many there are in all. */
  failedFiles: { shown: FailedFile[]; total: number };
  /** Where every error row of the run is: `<output>/<run>/errors/` (part-NNNNN.parquet). */
  errorsFolder: string;
  samples: ClassSamples[];
  /** Thumbnails left out: over the size budget, or the image could not be read again. */
  thumbnailsOmitted: number;
}
