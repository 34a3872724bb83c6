import { createHash } from 'node:crypto';
import { PreconditionFailedError, ResnetBatchError } from '../shared/errors.ts';
import type { CarriedColumn } from '../shared/output/columns.ts';
import {
  EMBEDDINGS_CONTENT_TYPE,
  embeddingsKey,
  errorsKey,
  metadataKey,
  PARQUET_CONTENT_TYPE,
} from '../shared/output/output-format.ts';
import { type CommitMarker, readCommitMarker } from '../shared/output/read-parts.ts';
import type { ShardJob } from '../shared/queue/job-payload.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import type { ShardParts } from './shard-parts.ts';
import { encodeNpy } from './write-embeddings.ts';
import { encodeErrorsParquet, encodeMetadataParquet } from './write-parts.ts';

/**
 * Committing a shard's parts so that exactly one attempt's results stand, even with a worker that
 * lost its lock and keeps going (a long GC pause, a stopped container, a VM migration):
 *
 * 1. Before anything is computed, a committed shard (its errors part, the commit marker, exists)
 *    is taken as it is: its counts come from the marker, nothing is processed or written again.
 * 2. Before each write the worker proves it still holds the shard (ShardLease.confirm: BullMQ's
 *    lock, extended atomically only for the token that took the job) and that the shard is still
 *    not committed; a worker whose lock renewal failed was aborted at that moment already.
 * 3. The marker is written last and create-only (`If-None-Match: *` on S3, an exclusive link on a
 *    local folder), so of two writers the second can never replace a committed shard's marker, and
 *    its own data files were written while it still held the lock, before the other took over.
 *
 * What is left: a writer that proved its lock, then froze between that check and a data write
 * for longer than SHARD_LOCK_MS, could overwrite the .npy or metadata part of the shard the next
 * owner committed meanwhile; its marker write then fails and it stops. The marker names the
 * digest of the shard's inputs, so `resnet-batch verify` finds such a part. And S3-compatible
 * servers that ignore If-None-Match (s3rver) give step 3 no protection beyond step 2's checks.
 */

/** This worker's hold on a shard, from the queue (worker/shard-worker.ts). */
export interface ShardLease {
  /** Aborted when the hold is lost: a lock renewal failed, or the worker gave the shard back. */
  readonly signal: AbortSignal;
  /** Throws LockLostError unless this worker still holds the shard (and extends the hold). */
  confirm(): Promise<void>;
}

/** The hold on a shard is gone: another worker may own it now. Nothing more may be written. */
export class LockLostError extends ResnetBatchError {
  constructor(what: string) {
    super(
      'LOCK_LOST',
      `${what}: this worker no longer holds the shard's lock (it was paused or cut off for longer than SHARD_LOCK_MS); its work is dropped, not written`,
      {
        retryable: true,
      },
    );
  }
}

/** A shard whose commit marker is on storage (shared/output/read-parts.ts). */
export type CommittedShard = Pick<CommitMarker, 'ok' | 'error' | 'inputsDigest'>;

/** The commit marker's facts, or null when the shard is not committed. */
export function readCommitted(
  store: ObjectStore,
  job: Pick<ShardJob, 'output' | 'run' | 'shard'>,
): Promise<CommittedShard | null> {
  return readCommitMarker(store, job.output, job.run, job.shard);
}

/**
 * Writes the shard's parts in commit order (the .npy, the metadata part, the errors part as the
 * create-only marker), checking the hold and the marker before each. Returns the committed
 * facts: this attempt's, or those of an attempt that committed first with the same inputs.
 */
export async function commitShard(
  store: ObjectStore,
  job: ShardJob,
  parts: ShardParts,
  carried: readonly CarriedColumn[],
  lease: ShardLease,
  inputsDigest: string,
  /** When the run's first attempt started, recorded in the marker for a resume (ShardContext.runStartedAt). */
  runStartedAt?: string,
): Promise<CommittedShard> {
  const ownWrite = async (uri: string, body: Buffer, contentType: string): Promise<void> => {
    await lease.confirm();
    if ((await readCommitted(store, job)) !== null) throw new CommittedMeanwhile();
    await store.write(uri, body, { contentType });
  };
  const committed: CommittedShard = { ok: parts.metadata.length, error: parts.errors.length, inputsDigest };
  const embeddings = encodeNpy(parts.vectors, committed.ok, parts.width);
  const metadata = encodeMetadataParquet(parts.metadata, carried);
  // The marker names the data parts' checksums, so `verify` proves the bytes, not only the counts.
  const marker = encodeErrorsParquet(parts.errors, carried, {
    shard: job.shard,
    ok: committed.ok,
    inputsDigest,
    engine: parts.engineName,
    partsSha256: { embeddings: sha256Hex(embeddings), metadata: sha256Hex(metadata) },
    ...(runStartedAt === undefined ? {} : { runStartedAt }),
  });
  try {
    await ownWrite(embeddingsKey(job.output, job.run, job.shard), embeddings, EMBEDDINGS_CONTENT_TYPE);
    await ownWrite(metadataKey(job.output, job.run, job.shard), metadata, PARQUET_CONTENT_TYPE);
    await lease.confirm();
    await store.write(errorsKey(job.output, job.run, job.shard), marker, {
      contentType: PARQUET_CONTENT_TYPE,
      ifNoneMatch: '*',
    });
    return committed;
  } catch (error) {
    if (!(error instanceof CommittedMeanwhile || error instanceof PreconditionFailedError)) throw error;
    const other = await readCommitted(store, job);
    if (other === null || other.inputsDigest !== inputsDigest) throw new ConflictingCommitError(job, other);
    return other;
  }
}

function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Another attempt committed the shard while this one was writing. */
class CommittedMeanwhile extends Error {}

/** The shard is committed on storage for other inputs than this job's. */
export class ConflictingCommitError extends ResnetBatchError {
  constructor(job: Pick<ShardJob, 'run' | 'shard'>, other: CommittedShard | null) {
    super(
      'SHARD_CONFLICT',
      `shard ${job.shard} of run ${job.run} is committed on storage for other inputs (digest ${other?.inputsDigest.slice(0, 12) ?? 'unreadable'}) than this job names; the run's input changed, start a new run`,
      { retryable: false },
    );
  }
}
