import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { SHARD_QUEUE_NAME } from '../../shared/config.ts';
import type { ErrorRow, MetadataRow } from '../../shared/output/columns.ts';
import { errorsKey, metadataKey, PARQUET_CONTENT_TYPE } from '../../shared/output/output-format.ts';
import { parseShardJob, SHARD_JOB_NAME } from '../../shared/queue/job-payload.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { encodeErrorsParquet, encodeMetadataParquet } from '../../worker/write-parts.ts';

/**
 * Finishes a submitted run the way a worker would, without a model: for each queued shard of the
 * run, writes its metadata part and errors part (the real encoders, one ok row per image, or an
 * error row for the URIs in `failUris`), counts the shard in the registry and removes its job;
 * then marks the run finished as the finaliser does. What the incremental filter reads is exactly
 * what a worker writes; only the embeddings are left out (the filter never reads them).
 */
export async function finishRunLikeAWorker(
  client: Redis,
  prefix: string,
  run: string,
  storeFor: (uri: string) => ObjectStore,
  failUris: ReadonlySet<string> = new Set(),
): Promise<number> {
  const queue = new Queue(SHARD_QUEUE_NAME, { connection: client, prefix });
  const registry = new RunRegistry(client, prefix);
  let images = 0;
  try {
    const jobs = (await queue.getJobs(['waiting', 'prioritized', 'delayed'])).filter(
      (job) => job.name === SHARD_JOB_NAME && (job.data as { run?: string }).run === run,
    );
    for (const job of jobs) {
      const shard = parseShardJob(job.data);
      const ok = shard.images.filter((image) => !failUris.has(image.uri)).map((image) => okRow(image.uri, image.etag));
      const failed = shard.images
        .filter((image) => failUris.has(image.uri))
        .map((image) => errorRow(image.uri, image.etag));
      const store = storeFor(shard.output);
      try {
        await store.write(metadataKey(shard.output, run, shard.shard), encodeMetadataParquet(ok), {
          contentType: PARQUET_CONTENT_TYPE,
        });
        await store.write(
          errorsKey(shard.output, run, shard.shard),
          encodeErrorsParquet(failed, [], { shard: shard.shard, ok: ok.length }),
          {
            contentType: PARQUET_CONTENT_TYPE,
          },
        );
      } finally {
        await store.close();
      }
      await registry.completeShard(run, shard.shard, { ok: ok.length, error: failed.length }, 'test');
      await job.remove();
      images += shard.images.length;
    }
    await registry.markFinished(run);
    return images;
  } finally {
    await queue.close();
  }
}

function okRow(uri: string, etag: string): MetadataRow {
  return {
    ...common(uri, etag),
    width: 1,
    height: 1,
    topLabels: ['tabby'],
    topIndices: [281],
    topScores: [0.9],
    model: 'test-model',
    engine: 'test',
  };
}

function errorRow(uri: string, etag: string): ErrorRow {
  return { ...common(uri, etag), error: 'DECODE_FAILED: test' };
}

function common(uri: string, etag: string) {
  return { uri, etag, sizeBytes: 1, processedAt: new Date(), fields: {} };
}
