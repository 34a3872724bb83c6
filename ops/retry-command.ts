import { Queue } from 'bullmq';
import { configFromEnv, SHARD_QUEUE_NAME } from '../shared/config.ts';
import { finalizeJobId, shardJobId } from '../shared/queue/job-payload.ts';
import { connectRedis, reachableRedisUrl } from '../shared/queue/redis-connection.ts';
import { enqueueFinalizer } from '../shared/run/enqueue-finalizer.ts';
import { RunRegistry } from '../shared/run/run-registry.ts';

/**
 * `resnet-batch retry <run>`: puts the run's failed shards back in the queue with fresh attempts,
 * and a finaliser that failed for good (its manifest write refused: a full disk, a revoked
 * permission) too, and reopens the run, so the manifest is written once they succeed. Failed jobs
 * are kept by BullMQ (removeOnFail: false), which is what makes this possible without listing
 * again. A run with nothing failed is left as it is: retrying it is a no-op that says so.
 */
export async function retryCommand(run: string): Promise<number> {
  const config = configFromEnv();
  const redisUrl = await reachableRedisUrl(config.REDIS_URL, 'retry needs the Redis the run was submitted to');
  const redis = connectRedis(redisUrl);
  const queue = new Queue(SHARD_QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX });
  try {
    const registry = new RunRegistry(redis, config.QUEUE_PREFIX);
    const record = await registry.require(run);
    const failedGeneration = await registry.generation(run);
    const reopened = await registry.reopenFailed(run);
    if (reopened.shards.length === 0 && !reopened.finalizer) {
      process.stderr.write(`run ${run}: nothing to retry (${record.state}, no failed shard, finaliser not failed)\n`);
      return 0;
    }
    let retried = 0;
    for (const shard of reopened.shards) {
      const job = await queue.getJob(shardJobId(run, shard));
      if (job && (await job.getState()) === 'failed') {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        retried += 1;
      }
    }
    // Only a run with no failed shard left is finalised now; otherwise its last shard does it.
    if (reopened.shards.length === 0) await enqueueFinalizer(queue, registry, run, config);
    // The finaliser that failed for good is replaced by the next generation's: left in the queue it
    // would keep the failed-jobs count (and any alert on it) up after the run has finished.
    if (reopened.finalizer) await removeFailedJob(queue, finalizeJobId(run, failedGeneration));
    const lost = reopened.shards.length - retried;
    process.stderr.write(
      `run ${run}: ${retried} failed shard(s) enqueued again${lost > 0 ? `; ${lost} had no failed job left to retry` : ''}${reopened.finalizer ? '; the finaliser enqueued again' : ''}\n`,
    );
    return 0;
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

async function removeFailedJob(queue: Queue, jobId: string): Promise<void> {
  const job = await queue.getJob(jobId);
  if (job && (await job.getState()) === 'failed') await job.remove();
}
