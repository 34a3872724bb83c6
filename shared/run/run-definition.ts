import { DEFAULT_PRECISION, type Precision } from '../inference/precision.ts';
import type { CarriedColumn } from '../output/columns.ts';
import { joinUri } from '../storage/uri.ts';
import type { RunRecord } from './run-record.ts';

/**
 * What a run is, fixed at its first submit and stored with its output as
 * `<output>/<run>/_run.json` (written create-only, before the first shard is enqueued), as well
 * as in Redis. A submit or `run` with the same id and another definition is refused, naming what
 * differs; with the same definition it resumes, from the output alone if Redis no longer knows
 * the run (a fresh embedded Redis of `run`): committed shards are counted from their markers and
 * only the rest is enqueued.
 *
 * What each shard holds is fixed too, shard by shard: the digest of its inputs (shared/run/shard-digest.ts)
 * is recorded in Redis when it is enqueued and in its commit marker when it is written, so a
 * listing that would put other images in a shard (a file added, removed or changed in the
 * folder) is detected and refused rather than silently giving some images two rows and others none.
 */
export interface RunDefinition {
  format_version: number;
  run: string;
  /** The input as submitted (canonical URI of the prefix, folder or manifest). */
  input: string;
  output: string;
  /** Model reference (shared/inference/model-ref.ts). */
  model: string;
  /**
   * Precision the model runs at (shared/inference/precision.ts): an int8 run's rows come from another model.
   * Absent from the `_run.json` of runs defined before int8 existed; those are fp32 (definitionOfJson).
   */
  precision: Precision;
  shard_size: number;
  normalize: boolean;
  /** Base run of an incremental run, or null. */
  since: string | null;
  input_roots: string[];
  carried_columns: CarriedColumn[];
  /** The URL column of a CSV or Parquet list given with --url-column; null (or absent) for the default. */
  url_column?: string | null;
  /** ISO 8601 UTC of the first submit. */
  created_at: string;
}

/** The fields that make two definitions the same run, with the flag a user changes each with. */
const DEFINING: ReadonlyArray<[keyof RunDefinition, string]> = [
  ['input', 'the input'],
  ['output', '--output'],
  ['model', '--model'],
  ['precision', '--precision'],
  ['shard_size', '--shard-size'],
  ['normalize', '--normalize'],
  ['since', '--since'],
  ['input_roots', 'the input roots (where the manifest points)'],
  ['carried_columns', "the manifest's extra fields"],
  ['url_column', '--url-column'],
];

/** `<output>/<run>/_run.json` */
export function runDefinitionKey(outputUri: string, runId: string): string {
  return joinUri(outputUri, `${runId}/_run.json`);
}

/** What differs between a recorded definition and a requested one, in words; empty when the same run. */
export function definitionDifferences(recorded: RunDefinition, requested: RunDefinition): string[] {
  // A definition written before url_column existed has none: the same as null.
  const trim = (value: unknown) =>
    typeof value === 'string' ? value.replace(/\/+$/, '') : JSON.stringify(value === undefined ? null : value);
  return DEFINING.filter(([field]) => trim(recorded[field]) !== trim(requested[field])).map(
    ([field, flag]) => `${flag} (recorded ${JSON.stringify(recorded[field])}, now ${JSON.stringify(requested[field])})`,
  );
}

/** The definition a run record in Redis holds (the same fields, Redis's names). */
export function definitionOfRecord(record: RunRecord): RunDefinition {
  return {
    format_version: 2,
    run: record.run,
    input: record.input,
    output: record.output,
    model: record.model,
    precision: record.precision,
    shard_size: record.shardSize,
    normalize: record.normalize,
    since: record.since ?? null,
    input_roots: record.inputRoots,
    carried_columns: record.carriedColumns,
    url_column: record.urlColumn ?? null,
    created_at: record.createdAt,
  };
}

/** A definition as read from a `_run.json`: one written before int8 existed names no precision, so fp32. */
export function definitionOfJson(parsed: Omit<RunDefinition, 'precision'> & { precision?: Precision }): RunDefinition {
  return { ...parsed, precision: parsed.precision ?? DEFAULT_PRECISION };
}
