import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { JOB_PAYLOAD_VERSION, SHARD_JOB_NAME, type ShardJob, shardJobId } from '../shared/job-payload.ts';
import type { RunRegistry } from '../shared/run-registry.ts';
import type { Shard } from './shard-listing.ts';

/**
 * Stage 4 of submit: add the shards to the queue, one addBulk per group, awaiting each before the
 * listing is read further (backpressure: the listing never runs ahead of Redis).
 *
 * A shard is not added when
 *   - the run registry has it as done (a resubmission after its job was removed), or
 *   - a job with its id exists (waiting, active, delayed, failed or a kept completed one).
 * BullMQ would ignore the second kind anyway (the id is deterministic, see shardJobId); checking
 * first makes `enqueued` count only the jobs that are really new. Attempts, backoff and retention
 * are shared/job-options.ts's.
 */
export interface EnqueueTarget {
  queue: Queue;
  /** The connection the queue uses; the existence checks run on it. */
  redis: Redis;
  registry: RunRegistry;
  /** The payload fields every shard of the run shares. */
  run: Pick<ShardJob, 'run' | 'output' | 'model' | 'precision' | 'inputRoots'>;
  jobOptions: JobsOptions;
  /** Shards per addBulk (default 16: 4096 images, ~0.5 MB of payload per round trip). */
  groupSize?: number;
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
  return progress;
}

async function addGroup(group: Shard[], target: EnqueueTarget): Promise<number> {
  const present = await Promise.all(
    group.map(
      async (shard) =>
        (await target.registry.isShardDone(target.run.run, shard.index)) ||
        (await target.redis.exists(target.queue.toKey(shardJobId(target.run.run, shard.index)))) === 1,
    ),
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
