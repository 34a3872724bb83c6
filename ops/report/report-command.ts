import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { configFromEnv } from '../../shared/config.ts';
import { connectRedis, reachableRedisUrl } from '../../shared/redis-connection.ts';
import type { RunRecord } from '../../shared/run-record.ts';
import { RunRegistry } from '../../shared/run-registry.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { collectReport } from './collect-report.ts';
import { renderReport } from './render-report.ts';

export interface ReportOptions {
  /** Where the HTML goes, a local path. Default `report-<run>.html` in the working directory. */
  out?: string;
}

/**
 * `resnet-batch report <run> [--out file]`: one self-contained HTML page about a run (totals,
 * throughput, labels, errors, sample thumbnails), from its run record in Redis and the files it
 * wrote. Works on a running run too; the totals then come from the run record. Exit 0 on success.
 */
export async function reportCommand(run: string, options: ReportOptions): Promise<number> {
  const config = configFromEnv();
  const redisUrl = await reachableRedisUrl(config.REDIS_URL, 'report reads the Redis the run was submitted to');
  const redis = connectRedis(redisUrl);
  let record: RunRecord;
  try {
    record = await new RunRegistry(redis, config.QUEUE_PREFIX).require(run);
  } finally {
    redis.disconnect();
  }
  const data = await collectReport(record, {
    openStore: (uri) => openStore(uri),
    maxImageBytes: config.MAX_IMAGE_BYTES,
    maxImagePixels: config.MAX_IMAGE_PIXELS,
  });
  const out = resolve(options.out ?? `report-${safeFileStem(run)}.html`);
  await writeFile(out, renderReport(data));
  process.stdout.write(`${out}\n`);
  return 0;
}

/** Run ids are user-chosen: keep the default file name one plain name in the working directory. */
function safeFileStem(run: string): string {
  return run.replace(/[^A-Za-z0-9._-]/g, '_');
}
