import type { Job } from 'bullmq';
import type { Logger } from '../shared/observability/logger.ts';
import { manifestDigest } from '../shared/output/manifest-digest.ts';
import { manifestKey, OUTPUT_FORMAT_VERSION, partPath, type RunManifest } from '../shared/output/output-format.ts';
import { readCommitMarkers } from '../shared/output/read-parts.ts';
import { finalizeJobId, InvalidJobError, parseFinalizeJob } from '../shared/queue/job-payload.ts';
import type { RunRecord } from '../shared/run/run-record.ts';
import type { RunRegistry } from '../shared/run/run-registry.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';

export interface ModelIdentity {
  id: string;
  weightsSha256: string;
  /** Width of the vectors the model writes (2048 for ResNet-50). */
  embeddingSize: number;
}

/**
 * The finaliser job: writes `<output>/<run>/_manifest.json`, then marks the run finished. It runs
 * as its own job (deterministic id per run generation), so a worker dying half-way leaves the job
 * to another: writing the manifest twice writes the same content.
 *
 * A finalize job is validated and authorised like a shard job (anyone with Redis access can add
 * one): a strict payload, the id the pipeline gives it, the run's current generation, and a run
 * whose every shard is accounted for. Anything else fails as INVALID_JOB and changes nothing: a
 * forged job can no longer end a run early.
 *
 * The manifest is made from storage: the images are counted from the shards' commit markers,
 * not only from Redis's counters; when the two disagree the manifest says what storage holds and
 * the difference is logged (`resnet-batch verify` then tells which inputs).
 */
export async function finalizeRun(
  job: Job,
  registry: RunRegistry,
  store: (uri: string) => ObjectStore,
  model: ModelIdentity,
  logger: Logger,
): Promise<RunManifest> {
  const { run, generation } = parseFinalizeJob(job.data);
  const record = await registry.get(run);
  if (!record)
    throw new InvalidJobError(
      `finalize job for run ${run}, which is not registered; the job was not made by the pipeline`,
    );
  const current = await registry.generation(run);
  if (job.id !== finalizeJobId(run, generation) || generation !== current) {
    throw new InvalidJobError(
      `finalize job ${job.id} is not the finaliser of run ${run} generation ${current} (expected id ${finalizeJobId(run, current)}); the job was not made by the pipeline`,
    );
  }
  const accounted = record.shards.done + record.shards.failed;
  if (!record.listingDone || accounted < record.shards.total) {
    throw new InvalidJobError(
      `finalize job for run ${run} came before its shards were accounted for (${accounted} of ${record.shards.total}${record.listingDone ? '' : ', listing not done'}); the job was not made by the pipeline`,
    );
  }
  const outputStore = store(record.output);
  const counted = await countCommittedShards(outputStore, record);
  if (counted.ok !== record.images.ok || counted.error !== record.images.error) {
    logger.warn(
      { run, storage: counted, redis: { ok: record.images.ok, error: record.images.error } },
      'the counts on storage differ from Redis; the manifest says what storage holds (resnet-batch verify tells which inputs)',
    );
  }
  const finishedAt = new Date();
  const built = buildManifest(record, counted, model, finishedAt);
  const manifest: RunManifest = { ...built, manifest_sha256: manifestDigest(built) };
  await outputStore.write(manifestKey(record.output, run), `${JSON.stringify(manifest, null, 2)}\n`, {
    contentType: 'application/json',
  });
  await registry.markFinished(run, finishedAt);
  return manifest;
}

/** The images and shards a run's commit markers count, for the shards the run has. */
interface StorageCounts {
  ok: number;
  error: number;
  shards: number;
  /** The committed parts' checksums, for the manifest's `parts_sha256`. */
  partsSha256: Record<string, string>;
}

async function countCommittedShards(store: ObjectStore, record: RunRecord): Promise<StorageCounts> {
  const counts: StorageCounts = { ok: 0, error: 0, shards: 0, partsSha256: {} };
  for await (const marker of readCommitMarkers(store, record.output, record.run)) {
    // A stray part past the run's shards (a forged job's) is no part of the run.
    if (marker.shard >= record.shards.total) continue;
    counts.ok += marker.ok;
    counts.error += marker.error;
    counts.shards += 1;
    // A shard committed before checksums existed has none for its data parts: they stay unverified.
    if (marker.partsSha256 !== null) {
      counts.partsSha256[partPath('embeddings', marker.shard)] = marker.partsSha256.embeddings;
      counts.partsSha256[partPath('metadata', marker.shard)] = marker.partsSha256.metadata;
    }
    counts.partsSha256[partPath('errors', marker.shard)] = marker.sha256;
  }
  return counts;
}

function buildManifest(record: RunRecord, counted: StorageCounts, model: ModelIdentity, finishedAt: Date): RunManifest {
  return {
    run: record.run,
    input: record.input,
    output: record.output,
    model: { id: model.id, weights_sha256: model.weightsSha256 },
    precision: record.precision,
    engines: record.engines,
    embeddings: { dim: model.embeddingSize, dtype: 'float32', normalization: record.normalize ? 'l2' : 'none' },
    carried_columns: record.carriedColumns,
    images: { total: record.images.total, ok: counted.ok, error: counted.error, skipped: record.images.skipped },
    shards: {
      total: record.shards.total,
      done: counted.shards,
      failed: record.shards.failed,
      ...(record.shards.failed > 0 ? { failed_shards: record.shards.failedShards } : {}),
    },
    // A run resumed in a new Redis: its first attempt's start, from its committed shards.
    started_at: record.firstStartedAt ?? record.startedAt ?? record.createdAt,
    finished_at: finishedAt.toISOString(),
    format_version: OUTPUT_FORMAT_VERSION,
    parts_sha256: counted.partsSha256,
  };
}
