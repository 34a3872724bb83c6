import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Queue } from 'bullmq';
import { configFromEnv, type PipelineConfig, SHARD_QUEUE_NAME } from '../../shared/config.ts';
import { shardJobId } from '../../shared/queue/job-payload.ts';
import { connectRedis, reachableRedisUrl } from '../../shared/queue/redis-connection.ts';
import { isRunLocation } from '../../shared/run/run-location.ts';
import type { RunRecord } from '../../shared/run/run-record.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { notFinishedError, readRunAt, recordOfStoredRun } from '../stored-run.ts';
import { collectReport } from './collect-report.ts';
import { renderReport } from './render-report.ts';
import type { FailedShard } from './report-data.ts';

export interface ReportOptions {
  /** Where the HTML goes, a local path. Default `report-<run>.html` in the working directory. */
  out?: string;
}

/**
 * `resnet-batch report <run | output location> [--out file]`: one self-contained HTML page about a
 * run (totals, throughput, labels, errors, sample thumbnails). Given a run id, from its run record
 * in Redis and the files it wrote; works on a running run too (the totals then come from the run
 * record). Given the run's output location (<output>/<run>, see ops/stored-run.ts), from storage
 * alone, with no Redis: the run must have finished. Exit 0 on success.
 */
export async function reportCommand(run: string, options: ReportOptions): Promise<number> {
  const config = configFromEnv();
  const { record, failedShards } = isRunLocation(run) ? await fromStorage(run) : await fromRedis(run, config);
  const data = await collectReport(record, {
    openStore: (uri) => openStore(uri),
    maxImageBytes: config.MAX_IMAGE_BYTES,
    maxImagePixels: config.MAX_IMAGE_PIXELS,
    failedShards,
  });
  const out = resolve(options.out ?? `report-${safeFileStem(record.run)}.html`);
  await writeFile(out, renderReport(data));
  process.stdout.write(`${out}\n`);
  return 0;
}

interface ReportSource {
  record: RunRecord;
  failedShards: FailedShard[];
}

async function fromRedis(run: string, config: PipelineConfig): Promise<ReportSource> {
  const redisUrl = await reachableRedisUrl(config.REDIS_URL, 'report reads the Redis the run was submitted to');
  const redis = connectRedis(redisUrl);
  const queue = new Queue(SHARD_QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX });
  try {
    const record = await new RunRegistry(redis, config.QUEUE_PREFIX).require(run);
    return { record, failedShards: await readFailedShards(queue, record) };
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

/** A finished run from its output: failed shards are known from the manifest, their images and reasons only to Redis. */
async function fromStorage(location: string): Promise<ReportSource> {
  const stored = await readRunAt(location);
  if (stored.manifest === null) throw notFinishedError(stored, 'report');
  const record = recordOfStoredRun({ ...stored, manifest: stored.manifest });
  const failedShards = record.shards.failedShards.map((shard) => ({ shard, reason: null, uris: [] }));
  return { record, failedShards };
}

/** Each failed shard's reason and images, from its job (kept by BullMQ until retry: removeOnFail false). */
async function readFailedShards(queue: Queue, record: RunRecord): Promise<FailedShard[]> {
  return Promise.all(
    record.shards.failedShards.map(async (shard) => {
      const job = await queue.getJob(shardJobId(record.run, shard));
      const images = (job?.data as { images?: Array<{ uri?: unknown }> } | undefined)?.images;
      return {
        shard,
        reason: job?.failedReason || null,
        uris: Array.isArray(images) ? images.map((image) => String(image?.uri)) : [],
      };
    }),
  );
}

/** Run ids are user-chosen: keep the default file name one plain name in the working directory. */
function safeFileStem(run: string): string {
  return run.replace(/[^A-Za-z0-9._-]/g, '_');
}
