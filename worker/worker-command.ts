import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { configFromEnv } from '../shared/config.ts';
import type { EngineChoice } from '../shared/engine.ts';
import { ConfigError } from '../shared/errors.ts';
import { createLogger } from '../shared/logger.ts';
import { checkRedisReachable } from '../shared/redis-connection.ts';
import { openStore } from '../shared/storage/open-store.ts';
import { resolveModelUri } from '../shared/model/model-uri.ts';
import { openEngine } from './engines/open-engine.ts';
import { ShardWorker } from './shard-worker.ts';

export interface WorkerCommandOptions {
  engine: EngineChoice;
  batchSize?: number;
  model?: string;
}

/**
 * `resnet-batch worker`: validates configuration, loads the model once, then consumes shards
 * until SIGTERM or SIGINT. The first signal stops taking shards and lets the current one finish
 * (exit 0); a second signal gives the current shard back (its lock expires and another worker
 * takes it) and exits at once.
 */
export async function workerCommand(options: WorkerCommandOptions): Promise<number> {
  const config = configFromEnv();
  const logger = createLogger('worker');
  if (!config.REDIS_URL) throw new ConfigError('REDIS_URL is not set; set it like redis://localhost:6379 (or use `resnet-batch run`, which starts its own Redis)');
  await checkRedisReachable(config.REDIS_URL);
  // libvips threads per image: with one shard at a time and decode overlapped with inference,
  // a couple of threads per image keeps the cores busy without starving the engine.
  sharp.concurrency(Math.max(1, Math.floor(availableParallelism() / 2)));

  const { engine, model } = await openEngine({ choice: options.engine, modelRef: resolveModelUri(options.model, config), logger });
  const worker = new ShardWorker({
    redisUrl: config.REDIS_URL,
    config: { ...config, BATCH_SIZE: options.batchSize ?? config.BATCH_SIZE },
    engine,
    labels: model.labels,
    model,
    storeFor: (uri) => openStore(uri),
    logger,
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: giving the current shard back and exiting');
      void worker.close(true).finally(() => process.exit(0));
      return;
    }
    stopping = true;
    logger.info({ signal }, 'stopping: finishing the current shard, taking no new ones');
    void worker.close();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  await worker.run();
  await engine.dispose();
  logger.info('worker stopped');
  return 0;
}
