import { ConfigError, describeError, ObjectNotFoundError, PreconditionFailedError } from '../shared/errors.ts';
import type { Precision } from '../shared/inference/precision.ts';
import { OUTPUT_FORMAT_VERSION } from '../shared/output/output-format.ts';
import {
  definitionDifferences,
  definitionOfJson,
  definitionOfRecord,
  type RunDefinition,
  runDefinition,
  runDefinitionKey,
} from '../shared/run/run-definition.ts';
import type { RequestedRunFields, RunFields } from '../shared/run/run-options.ts';
import type { RunRecord } from '../shared/run/run-record.ts';
import type { NewRun, RunRegistry } from '../shared/run/run-registry.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';

/**
 * Claims a run id for a definition (shared/run/run-definition.ts), in both places a run is
 * known: `<output>/<run>/_run.json` on storage and the run record in Redis. A run id is created on
 * its first submit; a later submit (a resubmission, `run` again after an interruption, a schedule
 * firing handled twice) must bring the same definition, or it is refused with what differs and
 * how to start a new run. Storage is what decides when Redis has forgotten the run (a fresh
 * embedded Redis), and `_run.json` is written create-only, so two `run`s racing with one id but
 * two inputs cannot both win.
 */
export interface ClaimedRun {
  /** The run's record as Redis had it before this submit; null for a run Redis did not know. */
  record: RunRecord | null;
  /** The model reference the run uses (the recorded one when the submit named none). */
  model: string;
  /** The precision the run uses (the recorded one when the submit named none). */
  precision: Precision;
  /**
   * True when shards of this run may already be committed on storage (the run existed before
   * this submit): each listed shard is then looked up there before it is enqueued.
   */
  mayHaveCommittedShards: boolean;
}

export interface RunClaim {
  run: string;
  /** The definition asked for; `model` and `precision` undefined when the submit named none (keep the run's). */
  fields: RequestedRunFields;
  /** The model to use for a new run when none was named. */
  defaultModel: string;
  /**
   * The weights digest of the model submit checked (model/check-model.ts): recorded with a new run
   * when it is the run's model, and compared with the recorded one on a resubmission.
   */
  checkedModel?: { ref: string; weightsSha256: string };
  /** The precision of a new run when none was named (PRECISION). */
  defaultPrecision: Precision;
  /** Fields Redis keeps beside the definition. */
  schedule?: string;
  now: Date;
}

export async function claimRun(registry: RunRegistry, store: ObjectStore, claim: RunClaim): Promise<ClaimedRun> {
  const { run } = claim;
  const existing = await registry.get(run);
  const stored = await readDefinition(store, claim.fields.output, run);
  const model = claim.fields.model ?? existing?.model ?? stored?.model ?? claim.defaultModel;
  const precision = claim.fields.precision ?? existing?.precision ?? stored?.precision ?? claim.defaultPrecision;
  const fields: RunFields = { ...claim.fields, model, precision };
  const requested = runDefinition(run, fields, {
    format_version: OUTPUT_FORMAT_VERSION,
    created_at: stored?.created_at ?? existing?.createdAt ?? claim.now.toISOString(),
  });
  if (stored !== null) refuseIfDifferent(run, 'in its output (_run.json)', stored, requested);
  if (existing !== null) refuseIfDifferent(run, 'in Redis', definitionOfRecord(existing), requested);
  const modelSha256 = claim.checkedModel?.ref === model ? claim.checkedModel.weightsSha256 : undefined;
  if (modelSha256 !== undefined && existing?.modelSha256 && existing.modelSha256 !== modelSha256) {
    throw new ConfigError(
      `run ${run} was submitted with the weights at ${model} that had sha256 ${existing.modelSha256.slice(0, 12)}…, and they now have ${modelSha256.slice(0, 12)}…: the model files changed, so its rows would mix two models; put the submitted files back, or submit under a new run id`,
    );
  }
  // A finished run's resubmission writes nothing at all: its output stays byte for byte.
  if (existing?.finishedAt) return { record: existing, model, precision, mayHaveCommittedShards: true };
  if (stored === null) await writeDefinition(store, requested);
  const newRun: NewRun = {
    run,
    ...fields,
    ...(claim.schedule === undefined ? {} : { schedule: claim.schedule }),
    ...(modelSha256 === undefined ? {} : { modelSha256 }),
  };
  if (existing === null && !(await registry.create(newRun, claim.now))) {
    const raced = await registry.get(run);
    if (raced === null) throw new ConfigError(`run ${run} vanished while being created; submit again`);
    refuseIfDifferent(run, 'in Redis', definitionOfRecord(raced), requested);
  }
  return { record: existing, model, precision, mayHaveCommittedShards: existing !== null || stored !== null };
}

function refuseIfDifferent(run: string, where: string, recorded: RunDefinition, requested: RunDefinition): void {
  const differences = definitionDifferences(recorded, requested);
  if (differences.length === 0) return;
  throw new ConfigError(
    `run ${run} is already defined ${where}, and this submit differs in ${differences.join('; ')}; a run id names one input, output and settings for good: resubmit it with the same ones to resume it, or start a new run with another --run (use --since ${run} to process only what changed since it finished)`,
  );
}

/** The run's `_run.json`, or null when its output has none. */
export async function readDefinition(store: ObjectStore, output: string, run: string): Promise<RunDefinition | null> {
  const uri = runDefinitionKey(output, run);
  let bytes: Buffer;
  try {
    bytes = await store.read(uri, { maxBytes: 16 * 1024 * 1024 });
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return null;
    throw new ConfigError(`cannot read the definition of run ${run} at ${uri}: ${describeError(error)}`, {
      cause: error,
    });
  }
  try {
    return definitionOfJson(JSON.parse(bytes.toString('utf8')) as RunDefinition);
  } catch (error) {
    throw new ConfigError(
      `${uri} is not valid JSON (${describeError(error)}); it was not written by resnet-batch, or was edited`,
      {
        cause: error,
      },
    );
  }
}

/** Writes `_run.json` create-only; when another submit wrote it first, that one must be the same run. */
async function writeDefinition(store: ObjectStore, definition: RunDefinition): Promise<void> {
  const uri = runDefinitionKey(definition.output, definition.run);
  try {
    await store.write(uri, `${JSON.stringify(definition, null, 2)}\n`, {
      contentType: 'application/json',
      ifNoneMatch: '*',
    });
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    const raced = await readDefinition(store, definition.output, definition.run);
    if (raced !== null)
      refuseIfDifferent(
        definition.run,
        'in its output (_run.json, by a submit running at the same time)',
        raced,
        definition,
      );
  }
}
