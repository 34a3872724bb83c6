import { joinUri } from '../storage/uri.ts';
import { definingFields, storedRunFields, withStoredDefaults } from './run-fields.ts';
import { RUN_OPTIONS, type RunFields, type RunOptionTable, type StoredRunFields } from './run-options.ts';
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
 *
 * Its fields, their `_run.json` names and how a refusal names each are declared in run-options.ts.
 */
export type RunDefinition = { format_version: number; run: string } & StoredRunFields & {
    /** ISO 8601 UTC of the first submit. */
    created_at: string;
  };

/** `<output>/<run>/_run.json` */
export function runDefinitionKey(outputUri: string, runId: string): string {
  return joinUri(outputUri, `${runId}/_run.json`);
}

/** The `_run.json` of a run: its id, its fields (run-options.ts) in the table's order, then when it was created. */
export function runDefinition(
  run: string,
  fields: RunFields,
  stamp: { format_version: number; created_at: string },
  table: RunOptionTable = RUN_OPTIONS,
): RunDefinition {
  return { run, ...storedRunFields(fields, table), ...stamp };
}

/** What differs between a recorded definition and a requested one, in words; empty when the same run. */
export function definitionDifferences(
  recorded: RunDefinition,
  requested: RunDefinition,
  table: RunOptionTable = RUN_OPTIONS,
): string[] {
  // A definition written before a field existed has none: the same as null.
  const trim = (value: unknown) =>
    typeof value === 'string' ? value.replace(/\/+$/, '') : JSON.stringify(value === undefined ? null : value);
  const value = (definition: RunDefinition, field: string) => (definition as Record<string, unknown>)[field];
  return definingFields(table)
    .filter(([field]) => trim(value(recorded, field)) !== trim(value(requested, field)))
    .map(
      ([field, words]) =>
        `${words} (recorded ${JSON.stringify(value(recorded, field))}, now ${JSON.stringify(value(requested, field))})`,
    );
}

/** The definition a run record in Redis holds (the same fields, Redis's names). */
export function definitionOfRecord(record: RunRecord): RunDefinition {
  return runDefinition(record.run, record, { format_version: 2, created_at: record.createdAt });
}

/** A definition as read from a `_run.json`: a field it predates (precision before int8) means its default. */
export function definitionOfJson(parsed: RunDefinition): RunDefinition {
  return withStoredDefaults(parsed);
}
