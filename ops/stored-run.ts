import { readDefinition } from '../producer/claim-run.ts';
import { ConfigError } from '../shared/errors.ts';
import type { RunManifest } from '../shared/output/output-format.ts';
import { readManifest } from '../shared/output/read-parts.ts';
import type { RunDefinition } from '../shared/run/run-definition.ts';
import { parseRunLocation } from '../shared/run/run-location.ts';
import type { RunRecord } from '../shared/run/run-record.ts';
import { openStore } from '../shared/storage/open-store.ts';
import { joinUri } from '../shared/storage/uri.ts';

/**
 * A run read from its output alone (`<output>/<run>/_run.json` and `_manifest.json`), for the
 * commands that work after `run`'s embedded Redis is gone: `status`, `report`, `runs --output`.
 * Which arguments are locations: ops/run-location.ts.
 */

/** What storage holds about a run: its definition, and its manifest once it has finished. */
export interface StoredRun {
  /** The output root the run sits under, as found (a copied folder keeps working). */
  output: string;
  definition: RunDefinition;
  /** Null while the run has not finished: the manifest is written last. */
  manifest: RunManifest | null;
}

/** Reads the run stored under `output` (its definition must be there, or ConfigError says so). */
export async function readStoredRun(output: string, run: string): Promise<StoredRun> {
  const store = openStore(output);
  try {
    const definition = await readDefinition(store, output, run);
    if (definition === null) {
      throw new ConfigError(
        `no run ${run} under ${output} (no ${run}/_run.json); give the folder a run wrote, <output>/<run>`,
      );
    }
    if (definition.run !== run) {
      throw new ConfigError(
        `${joinUri(output, run)}/_run.json defines run ${definition.run}; its parts are found by run id, so keep the folder named ${definition.run}`,
      );
    }
    return { output, definition, manifest: await readManifest(store, output, run) };
  } finally {
    await store.close();
  }
}

/** Reads the run at a location (`<output>/<run>`). */
export function readRunAt(location: string): Promise<StoredRun> {
  const { output, run } = parseRunLocation(location);
  return readStoredRun(output, run);
}

/** The refusal for a run whose output has no manifest yet: only Redis knows how far it got. */
export function notFinishedError(stored: StoredRun, command: string): ConfigError {
  const run = stored.definition.run;
  return new ConfigError(
    `run ${run} at ${joinUri(stored.output, run)} has not finished (no _manifest.json yet); its progress is in the Redis it runs on: REDIS_URL=redis://... resnet-batch ${command} ${run}. If it was stopped, run it again with the same --run to resume it`,
  );
}

/** The run record a finished run's manifest and definition amount to (no Redis involved). */
export function recordOfStoredRun({ output, definition, manifest }: StoredRun & { manifest: RunManifest }): RunRecord {
  return {
    run: definition.run,
    state: 'done',
    input: definition.input,
    output,
    model: definition.model,
    precision: manifest.precision ?? definition.precision,
    inputRoots: definition.input_roots,
    shardSize: definition.shard_size,
    normalize: definition.normalize,
    carriedColumns: definition.carried_columns,
    createdAt: definition.created_at,
    startedAt: manifest.started_at,
    finishedAt: manifest.finished_at,
    listingDone: true,
    // The manifest does not split the skipped images: those unchanged since a base run are among them.
    images: { ...manifest.images, unchanged: 0 },
    shards: {
      total: manifest.shards.total,
      done: manifest.shards.done,
      failed: manifest.shards.failed,
      failedShards: manifest.shards.failed_shards ?? [],
    },
    engines: manifest.engines,
    since: definition.since,
    modelSha256: manifest.model.weights_sha256,
    urlColumn: definition.url_column ?? null,
    finalizeError: null,
  };
}
