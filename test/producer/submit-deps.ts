import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { SubmitDeps } from '../../producer/submit.ts';
import { configFromEnv, SHARD_QUEUE_NAME } from '../../shared/config.ts';
import { SHARD_JOB_NAME } from '../../shared/queue/job-payload.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * What the in-process submit tests share: submit's dependencies on a queue prefix of the test's
 * own, and the shard jobs a submit left in the queue.
 */

/** Submit's dependencies on a fresh queue prefix, so no test sees another's jobs or runs; `env` adds to the config. */
export function freshSubmitDeps(redisUrl: string, env: Record<string, string> = {}): SubmitDeps & { prefix: string } {
  const prefix = uniqueName('q');
  return { prefix, config: configFromEnv({ REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, ...env }) };
}

/** The data of every shard job of `run` waiting under `prefix` (not yet taken by a worker). */
export async function queuedShardData(client: Redis, prefix: string, run: string): Promise<unknown[]> {
  const queue = new Queue(SHARD_QUEUE_NAME, { connection: client, prefix });
  try {
    const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed']);
    return jobs
      .filter((job) => job.name === SHARD_JOB_NAME && (job.data as { run?: string }).run === run)
      .map((job) => job.data as unknown);
  } finally {
    await queue.close();
  }
}
