import { Queue } from 'bullmq';
import { configFromEnv, SHARD_QUEUE_NAME } from '../shared/config.ts';
import { shardJobId } from '../shared/job-payload.ts';
import { connectRedis, reachableRedisUrl } from '../shared/redis-connection.ts';
import { RunRegistry } from '../shared/run-registry.ts';

/**
 * `resnet-batch retry <run>`: puts the run's failed shards back in the queue with fresh attempts
 * and reopens the run, so the manifest is written again once they finish. Failed jobs are kept by
 * BullMQ (removeOnFail: false), which is what makes this possible without listing again.
 */
export async function retryCommand(run: string): Promise<number> {
  const config = configFromEnv();
  const redisUrl = await reachableRedisUrl(config.REDIS_URL, 'retry needs the Redis the run was submitted to');
  const redis = connectRedis(redisUrl);
  const queue = new Queue(SHARD_QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX });
  try {
    const registry = new RunRegistry(redis, config.QUEUE_PREFIX);
    await registry.require(run);
    const shards = await registry.reopenFailed(run);
    let retried = 0;
    for (const shard of shards) {
      const job = await queue.getJob(shardJobId(run, shard));
      if (job && (await job.getState()) === 'failed') {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        retried += 1;
      }
    }
    process.stderr.write(
      `run ${run}: ${retried} failed shard(s) enqueued again${shards.length > retried ? `; ${shards.length - retried} had no failed job left to retry` : ''}\n`,
    );
    return 0;
  } finally {
    await queue.close();
    redis.disconnect();
  }
}
