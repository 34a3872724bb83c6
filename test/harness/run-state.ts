import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { SHARD_QUEUE_NAME } from '../../shared/config.ts';
import type { RunRecord } from '../../shared/run/run-record.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';

/**
 * Waits on a run from the outside, as an operator would: its record in Redis and its shard queue.
 * Each call opens its own connection and closes it, so a test's waits never share state.
 */

/** Polls `check` every 100 ms until it returns true; fails after `timeoutMs` with `what`. Resolves with the milliseconds it took. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return Date.now() - started;
}

/** Polls the run record until its state is done; fails with the record after `timeoutMs`. */
export async function waitForRunDone(
  redisUrl: string,
  prefix: string,
  run: string,
  timeoutMs = 180_000,
): Promise<RunRecord> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  try {
    const registry = new RunRegistry(redis, prefix);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const record = await registry.get(run);
      if (record?.state === 'done') return record;
      if (Date.now() > deadline)
        throw new Error(`run ${run} not done after ${timeoutMs} ms: ${JSON.stringify(record)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    redis.disconnect();
  }
}

/** The shard queue under `prefix`, for job counts and attempts. close() also drops its
 * connection (BullMQ leaves a connection it was handed open). */
export function shardQueue(redisUrl: string, prefix: string): { queue: Queue; close(): Promise<void> } {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(SHARD_QUEUE_NAME, { connection, prefix });
  return {
    queue,
    close: async () => {
      await queue.close();
      connection.disconnect();
    },
  };
}

/** Polls until the shard job `jobId` is active with progress > 0 (a worker is inside it). */
export async function waitForActiveShard(
  redisUrl: string,
  prefix: string,
  jobId: string,
  timeoutMs = 60_000,
): Promise<void> {
  const { queue, close } = shardQueue(redisUrl, prefix);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await queue.getJob(jobId);
      if (job && (await job.getState()) === 'active' && Number(job.progress) > 0) return;
      if (Date.now() > deadline) throw new Error(`shard ${jobId} not active with progress after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await close();
  }
}
