import { manifestKey, OUTPUT_FORMAT_VERSION, type RunManifest } from '../shared/output/output-format.ts';
import type { RunRecord } from '../shared/run-record.ts';
import type { RunRegistry } from '../shared/run-registry.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';

export interface ModelIdentity {
  id: string;
  weightsSha256: string;
}

/**
 * Writes `<output>/<run>/_manifest.json` from the run record, then marks the run finished. Runs as
 * its own job (deterministic id per run generation) so that a worker dying half-way leaves the
 * job to be retried by another: writing the manifest twice writes the same content.
 */
export async function finalizeRun(
  run: string,
  registry: RunRegistry,
  store: (uri: string) => ObjectStore,
  model: ModelIdentity,
): Promise<RunManifest | null> {
  const record = await registry.get(run);
  if (!record) return null;
  const finishedAt = new Date();
  const manifest = buildManifest(record, model, finishedAt);
  await store(record.output).write(manifestKey(record.output, run), `${JSON.stringify(manifest, null, 2)}\n`, {
    contentType: 'application/json',
  });
  await registry.markFinished(run, finishedAt);
  return manifest;
}

function buildManifest(record: RunRecord, model: ModelIdentity, finishedAt: Date): RunManifest {
  return {
    run: record.run,
    input: record.input,
    output: record.output,
    model: { id: model.id, weights_sha256: model.weightsSha256 },
    precision: record.precision,
    engines: record.engines,
    images: record.images,
    shards: {
      total: record.shards.total,
      done: record.shards.done,
      failed: record.shards.failed,
      ...(record.shards.failed > 0 ? { failed_shards: record.shards.failedShards } : {}),
    },
    started_at: record.startedAt ?? record.createdAt,
    finished_at: finishedAt.toISOString(),
    format_version: OUTPUT_FORMAT_VERSION,
  };
}
