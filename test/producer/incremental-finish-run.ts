import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { SHARD_QUEUE_NAME } from '../../shared/config.ts';
import { parseShardJob, SHARD_JOB_NAME } from '../../shared/job-payload.ts';
import { METADATA_CONTENT_TYPE, type MetadataRow, metadataKey } from '../../shared/output/output-format.ts';
import { RunRegistry } from '../../shared/run-registry.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { encodeMetadataParquet } from '../../worker/write-metadata.ts';

/**
 * Finishes a submitted run the way a worker would, without a model: for each queued shard of the
 * run, writes its metadata part (the real encoder, one ok row per image, or an error row for the
 * URIs in `failUris`), counts the shard in the registry and removes its job; then marks the run
 * finished as the finaliser does. What the incremental filter reads is exactly what a worker
 * writes; only the embeddings are left out (the filter never reads them).
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
      const rows = shard.images.map(
        (image, i): MetadataRow =>
          failUris.has(image.uri) ? errorRow(image.uri, image.etag) : okRow(image.uri, image.etag, i),
      );
      const store = storeFor(shard.output);
      try {
        await store.write(metadataKey(shard.output, run, shard.shard), encodeMetadataParquet(rows), {
          contentType: METADATA_CONTENT_TYPE,
        });
      } finally {
        await store.close();
      }
      const failed = rows.filter((row) => row.status === 'error').length;
      await registry.completeShard(run, shard.shard, { ok: rows.length - failed, error: failed }, 'test');
      await job.remove();
      images += rows.length;
    }
    await registry.markFinished(run);
    return images;
  } finally {
    await queue.close();
  }
}

function okRow(uri: string, etag: string, embeddingRow: number): MetadataRow {
  return {
    ...common(uri, etag),
    width: 1,
    height: 1,
    status: 'ok',
    error: null,
    embeddingRow,
    topLabels: ['tabby'],
    topIndices: [281],
    topScores: [0.9],
  };
}

function errorRow(uri: string, etag: string): MetadataRow {
  return {
    ...common(uri, etag),
    width: null,
    height: null,
    status: 'error',
    error: 'DECODE_FAILED: test',
    embeddingRow: null,
    topLabels: null,
    topIndices: null,
    topScores: null,
  };
}

function common(uri: string, etag: string) {
  return { uri, etag, sizeBytes: 1, model: 'test-model', engine: 'test', processedAt: new Date() };
}
