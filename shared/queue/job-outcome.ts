import { UnrecoverableError } from 'bullmq';
import { describeError, ResnetBatchError } from '../errors.ts';

/**
 * The one place that decides how a failed attempt maps onto BullMQ. A ResnetBatchError that says
 * it is not retryable (invalid or forged job, unknown run, missing model) becomes an
 * UnrecoverableError: BullMQ fails the shard at once instead of burning its attempts. Everything
 * else (storage outage, Redis hiccup, an engine crash) is rethrown as is, and BullMQ retries the
 * shard with exponential backoff until JOB_ATTEMPTS is spent.
 */
export function toBullmqError(error: unknown): Error {
  if (error instanceof ResnetBatchError && !error.retryable) {
    return new UnrecoverableError(`${error.code}: ${error.message}`);
  }
  return error instanceof Error ? error : new Error(describeError(error));
}
