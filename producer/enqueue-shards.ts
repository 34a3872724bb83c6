import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ConfigError } from '../shared/errors.ts';
import { readCommitMarker } from '../shared/output/read-parts.ts';
import { JOB_PAYLOAD_VERSION, SHARD_JOB_NAME, type ShardJob, shardJobId } from '../shared/queue/job-payload.ts';
import type { RunRegistry } from '../shared/run/run-registry.ts';
import { shardDigest } from '../shared/run/shard-digest.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import type { Shard } from './shard-listing.ts';

/**
 * Stage 4 of submit: add the shards to the queue, one addBulk per group, awaiting each before the
 * listing is read further (backpressure: the listing never runs ahead of Redis).
 *
 * Each shard's inputs are fixed by the digest the run records for it (shared/run/shard-digest.ts):
 * the first submit records it, and a later one whose listing puts other images in the shard (a
 * file added, removed or changed in the input) is refused before that shard is touched.
 *
 * A shard is not added when
 *   - the run registry has it as done (a resubmission after its job was removed), or
 *   - it is committed on storage (`committedIn`: a resubmission of a run Redis forgot, e.g. `run`
 *     again with a fresh embedded Redis): it is counted from its commit marker instead, or
 *   - a job with its id exists (waiting, active, delayed, failed or a kept completed one).
 * BullMQ would ignore the second kind anyway (the id is deterministic, see shardJobId); checking
 * first makes `enqueued` count only the jobs that are really new. Attempts, backoff and retention
 * are shared/queue/job-options.ts's.
 */
export interface EnqueueTarget {
  queue: Queue;
  /** The connection the queue uses; the existence checks run on it. */
  redis: Redis;
  registry: RunRegistry;
  /** The payload fields every shard of the run shares. */
  run: Pick<ShardJob, 'run' | 'output' | 'model' | 'precision' | 'inputRoots' | 'normalize'>;
  jobOptions: JobsOptions;
  /** Shards per addBulk (default 16: 4096 images, ~0.5 MB of payload per round trip). */
  groupSize?: number;
  /** The run's output store, when shards may already be committed there (see above). Default none. */
  committedIn?: ObjectStore;
  /**
   * The run's number of shards when an earlier submit finished listing it: a listing with a
   * shard past it, or fewer shards, changed the input and is refused. Default unknown.
   */
  knownShards?: number;
  /**
   * Only compare the listing with the run's recorded shards, writing and enqueueing nothing (a
   * finished run's resubmission: its output and record stay as they are). Default false.
   */
  checkOnly?: boolean;
  onGroup?: (progress: EnqueueProgress) => void;
}

export interface EnqueueProgress {
  shards: number;
  images: number;
  enqueued: number;
}

export async function enqueueShards(shards: AsyncIterable<Shard>, target: EnqueueTarget): Promise<EnqueueProgress> {
  const groupSize = target.groupSize ?? 16;
  const progress: EnqueueProgress = { shards: 0, images: 0, enqueued: 0 };
  let group: Shard[] = [];
  const flush = async (): Promise<void> => {
    progress.enqueued += await addGroup(group, target);
    group = [];
    target.onGroup?.({ ...progress });
  };
  for await (const shard of shards) {
    group.push(shard);
    progress.shards += 1;
    progress.images += shard.images.length;
    if (group.length >= groupSize) await flush();
  }
  if (group.length > 0) await flush();
  if (target.knownShards !== undefined && progress.shards !== target.knownShards) {
    throw inputChanged(
      target.run.run,
      progress.shards,
      `the listing has ${progress.shards} shards, the run ${target.knownShards}`,
    );
  }
  return progress;
}

async function addGroup(group: Shard[], target: EnqueueTarget): Promise<number> {
  const present = await Promise.all(
    group.map((shard) => (target.checkOnly ? checkRecorded(shard, target) : isPresent(shard, target))),
  );
  const missing = group.filter((_, i) => !present[i]);
  if (missing.length === 0) return 0;
  await target.queue.addBulk(
    missing.map((shard) => {
      const data: ShardJob = { v: JOB_PAYLOAD_VERSION, ...target.run, shard: shard.index, images: shard.images };
      return {
        name: SHARD_JOB_NAME,
        data,
        opts: { ...target.jobOptions, jobId: shardJobId(target.run.run, shard.index) },
      };
    }),
  );
  return missing.length;
}

/** checkOnly: refuses a shard whose inputs differ from the run's, changes nothing. */
async function checkRecorded(shard: Shard, target: EnqueueTarget): Promise<true> {
  const { run } = target.run;
  if (target.knownShards !== undefined && shard.index >= target.knownShards) throw inputChanged(run, shard.index);
  const recorded = await target.registry.shardDigest(run, shard.index);
  if (recorded !== null && recorded !== shardDigest(shard.images)) throw inputChanged(run, shard.index);
  return true;
}

/** Whether the shard needs no new job; refuses a shard whose inputs differ from the run's. */
async function isPresent(shard: Shard, target: EnqueueTarget): Promise<boolean> {
  const { run } = target.run;
  if (target.knownShards !== undefined && shard.index >= target.knownShards) throw inputChanged(run, shard.index);
  const digest = shardDigest(shard.images);
  if ((await target.registry.recordShardDigest(run, shard.index, digest)) !== digest)
    throw inputChanged(run, shard.index);
  if (await target.registry.isShardDone(run, shard.index)) return true;
  if (target.committedIn !== undefined) {
    const marker = await readCommitMarker(target.committedIn, target.run.output, run, shard.index);
    if (marker !== null) {
      if (marker.inputsDigest !== digest) throw inputChanged(run, shard.index);
      // Counted as reused, so a resumed run's rates leave these images out, and its manifest
      // keeps the first attempt's start.
      if (marker.runStartedAt !== null) await target.registry.recordFirstStart(run, marker.runStartedAt);
      await target.registry.completeShard(run, shard.index, marker, marker.engine, true);
      return true;
    }
  }
  return (await target.redis.exists(target.queue.toKey(shardJobId(run, shard.index)))) === 1;
}

function inputChanged(run: string, shard: number, detail?: string): ConfigError {
  const what = detail ?? `shard ${shard} of this listing holds other images than the run's shard ${shard}`;
  return new ConfigError(
    `the input of run ${run} changed since the run was defined: ${what} (an input was added, removed or changed); a run processes one input for good: start a new run with another --run, or, once ${run} has finished, one that processes only what changed with --since ${run}`,
  );
}
