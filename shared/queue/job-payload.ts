import { z } from 'zod';
import { ResnetBatchError } from '../errors.ts';
import { DEFAULT_PRECISION, PRECISIONS, type Precision } from '../inference/precision.ts';
import { carriedColumnNamesProblem, MAX_CARRIED_NAME_CHARS } from '../output/columns.ts';
import { schemaProblems } from '../schema-problems.ts';

/**
 * The wire format of one BullMQ job: one shard of a run. The producer writes it, the worker reads
 * it, and both validate it with the same schema, because anyone with access to Redis can add a
 * job. Payloads carry URIs and listing facts (size, ETag), never image bytes.
 *
 * Versioned: `v` changes whenever a field changes meaning, and a worker refuses versions it does
 * not know (the job fails without retries and the run records the shard as failed). v2 added the
 * carried fields of each image and `normalize`.
 */
export const JOB_PAYLOAD_VERSION = 2;

/** Run ids appear in Redis keys, job ids and output keys, so they stay in a safe alphabet. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Default and upper bound of images per shard (see `submit --shard-size`). */
export const DEFAULT_SHARD_SIZE = 256;
export const MAX_SHARD_SIZE = 10_000;

/** Most carried fields one image may have (see `fields` below). */
export const MAX_CARRIED_FIELDS = 32;
/** Longest carried string value, in characters (a caption, a JSON text). */
export const MAX_CARRIED_VALUE_CHARS = 8192;

const carriedValue = z.union([z.string().max(MAX_CARRIED_VALUE_CHARS), z.number(), z.boolean(), z.null()]);

const imageRef = z
  .object({
    /** Absolute URI of the image: s3://bucket/key or file:///abs/path. */
    uri: z.string().min(1).max(4096),
    /** Size in bytes from the listing; -1 when the source (a manifest line) did not say. */
    size: z.number().int().min(-1),
    /** ETag from the listing ('' when unknown); written into the metadata for incremental runs. */
    etag: z.string().max(256),
    /**
     * Fields of the input line carried into the image's row (a caption, a label, an id), by
     * column name; absent when the input carries none. Their types are the run's (RunRecord
     * carriedColumns), fixed at submit.
     */
    fields: z
      .record(z.string().min(1).max(MAX_CARRIED_NAME_CHARS), carriedValue)
      .refine((fields) => Object.keys(fields).length <= MAX_CARRIED_FIELDS, `at most ${MAX_CARRIED_FIELDS} fields`)
      .refine((fields) => carriedColumnNamesProblem(Object.keys(fields)) === null, {
        message: 'field names must be carriable (shared/output/columns.ts carriedColumnNameProblem)',
      })
      .optional(),
  })
  .strict();

export const shardJobSchema = z
  .object({
    v: z.literal(JOB_PAYLOAD_VERSION),
    run: z.string().regex(RUN_ID_PATTERN),
    shard: z.number().int().min(0),
    /** Root output URI; the shard writes only under `<output>/<run>/`. */
    output: z.string().min(1).max(4096),
    /** Model URI the worker must run (the run's model, not the worker's default). */
    model: z.string().min(1).max(4096),
    /**
     * The run's precision (shared/inference/precision.ts); absent means fp32. Written only for int8, so an fp32
     * job is the same bytes as before the field existed, and a worker that predates it refuses an
     * int8 job instead of running it in fp32.
     */
    precision: z.enum(PRECISIONS).optional(),
    /** URIs the run may read: every image URI must lie under one of them. */
    inputRoots: z.array(z.string().min(1).max(4096)).min(1).max(64),
    images: z.array(imageRef).min(1).max(MAX_SHARD_SIZE),
    /** L2-normalise the vectors (`--normalize`), as the run was submitted. */
    normalize: z.boolean(),
  })
  .strict();

export type ShardJob = z.infer<typeof shardJobSchema>;
export type ImageRef = z.infer<typeof imageRef>;

/** The precision a shard asks for. */
export function shardPrecision(job: Pick<ShardJob, 'precision'>): Precision {
  return job.precision ?? DEFAULT_PRECISION;
}

/** The one place a job payload is parsed from `unknown`. Throws InvalidJobError listing every problem. */
export function parseShardJob(data: unknown): ShardJob {
  const parsed = shardJobSchema.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new InvalidJobError(
    `shard job payload is invalid (expected resnet-batch job v${JOB_PAYLOAD_VERSION}): ${schemaProblems(parsed.error)}`,
  );
}

/** A job whose payload fails the schema: never retried, recorded as a failed shard. */
export class InvalidJobError extends ResnetBatchError {
  constructor(message: string) {
    super('INVALID_JOB', message, { retryable: false });
  }
}

/**
 * Deterministic job id: submitting the same run twice adds nothing new, because BullMQ ignores an
 * add whose id already exists. BullMQ forbids ':' in custom ids, hence '__'.
 */
export function shardJobId(runId: string, shardIndex: number): string {
  return `${runId}__${String(shardIndex).padStart(6, '0')}`;
}

/**
 * The run and shard a job id names (the inverse of shardJobId), or null. Lets a job whose payload
 * fails the schema still be counted as its shard's failure, so its run ends instead of waiting.
 */
export function shardOfJobId(jobId: string): { run: string; shard: number } | null {
  const match = /^(.+)__(\d{6,})$/.exec(jobId);
  if (!match || !RUN_ID_PATTERN.test(match[1]!)) return null;
  const shard = Number(match[2]);
  return shardJobId(match[1]!, shard) === jobId ? { run: match[1]!, shard } : null;
}

/**
 * The finaliser of a run: writes `_manifest.json` once every shard is accounted for. Enqueued only
 * by shared/run/enqueue-finalizer.ts; validated like a shard job, because anyone with access to Redis
 * can add one too.
 */
export const finalizeJobSchema = z
  .object({
    v: z.literal(JOB_PAYLOAD_VERSION),
    run: z.string().regex(RUN_ID_PATTERN),
    /** The run's generation when it was enqueued (RunRegistry.generation; bumped by `retry`). */
    generation: z.number().int().min(0),
  })
  .strict();

export type FinalizeJob = z.infer<typeof finalizeJobSchema>;

/** The one place a finaliser payload is parsed from `unknown`. Throws InvalidJobError. */
export function parseFinalizeJob(data: unknown): FinalizeJob {
  const parsed = finalizeJobSchema.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new InvalidJobError(
    `finalize job payload is invalid (expected resnet-batch job v${JOB_PAYLOAD_VERSION}): ${schemaProblems(parsed.error)}`,
  );
}

/** Job id of the run's finaliser for one generation of the run. */
export function finalizeJobId(runId: string, generation: number): string {
  return `${runId}__manifest-g${generation}`;
}

export const SHARD_JOB_NAME = 'shard';
export const FINALIZE_JOB_NAME = 'finalize';
