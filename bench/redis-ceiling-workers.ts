// Simulated workers for bench/redis-ceiling.ts: N real ShardWorkers (worker/shard-worker.ts, each
// with its own connections, SHARDS_IN_FLIGHT shards at a time) in this one process, on the null
// engine, a store that discards writes and a shard processor that makes only the Redis calls of
// a real shard (bench/null-shard.ts). Prints "ready <N>" once they are started, and stops them
// on SIGTERM. Configured from the environment like `resnet-batch worker` (REDIS_URL, QUEUE_PREFIX,
// BATCH_SIZE, SHARDS_IN_FLIGHT):
//
//   node --import tsx bench/redis-ceiling-workers.ts <workers> <model uri>
import { configFromEnv } from '../shared/config.ts';
import { createLogger } from '../shared/observability/logger.ts';
import { NullEngine, nullLabels } from '../worker/engines/null-engine.ts';
import { ShardWorker } from '../worker/shard-worker.ts';
import { DiscardStore } from './discard-store.ts';
import { nullShard } from './null-shard.ts';

const count = Number(process.argv[2] ?? 16);
const modelUri = process.argv[3] ?? 'default';
const config = configFromEnv();
const logger = createLogger('ceiling-worker', 'warn');
const store = new DiscardStore();
const workers = Array.from(
  { length: count },
  () =>
    new ShardWorker({
      redisUrl: config.REDIS_URL ?? '',
      config,
      engine: new NullEngine(),
      labels: nullLabels(),
      model: { id: 'null', uri: modelUri, weightsSha256: 'none', precision: 'fp32' },
      storeFor: () => store,
      logger,
      concurrency: config.SHARDS_IN_FLIGHT,
      processShard: nullShard,
    }),
);
// run() resolves only when a worker is closed; the workers take shards as soon as they listen,
// and the measurement is a steady-state window (bench/redis-ceiling.ts), so no start signal.
const running = workers.map((worker) => worker.run());
process.stdout.write(`ready ${count}\n`);
process.once('SIGTERM', () => {
  void Promise.all(workers.map((worker) => worker.close(true))).then(() => process.exit(0));
});
await Promise.all(running);
