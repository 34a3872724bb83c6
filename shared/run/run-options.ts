import { z } from 'zod';
import { DEFAULT_PRECISION, PRECISIONS } from '../inference/precision.ts';
import type { CarriedColumn } from '../output/columns.ts';
import { DEFAULT_SHARD_SIZE, MAX_SHARD_SIZE, RUN_ID_PATTERN } from '../queue/job-payload.ts';

/**
 * The run definition, declared once: what a run is, fixed at its first submit (see
 * run-definition.ts for what fixing it means). One entry per field, data-driven like the output
 * columns (shared/output/columns.ts); everything else is derived from this table (run-fields.ts):
 * - the TypeScript types: `RunFields` (a run record's definition), `RunDefinition` (`_run.json`),
 *   the options of submitRun, `run` and a schedule;
 * - `<output>/<run>/_run.json` (key `stored`) and the run's Redis hash (field `stored`, encoded by
 *   the kind of its schema), and which differences a resubmission refuses, in the words `refusal`;
 * - a schedule's stored data (the fields `schedule add` takes) and the submit each firing does;
 * - the flags of `submit`, `run` and `schedule add` (bin/cli-program.ts), from `flag` and `takenBy`.
 * Adding a run option is one entry here plus the code that uses it. The run id is not an entry:
 * it names the run (its Redis key, its folder) rather than defining it. Nor is the job payload
 * derived: it is a versioned wire contract (shared/queue/job-payload.ts), and a worker reads the
 * rest of a run's definition from its record.
 *
 * Storage compatibility: the names and encodings are those runs and schedules were always stored
 * with. An `optional` field is written to the Redis hash and to a schedule only when it is not its
 * default, so a run or schedule that does not use it keeps the fields it had before the option
 * existed, and a record, `_run.json` or schedule without it means the default.
 */

/** The commands that take run options. */
export const RUN_COMMANDS = ['submit', 'run', 'schedule add'] as const;
export type RunCommand = (typeof RUN_COMMANDS)[number];

const EVERY_COMMAND = RUN_COMMANDS;

export interface RunOptionFlag {
  /** Commander syntax: `--shard-size <k>` takes a value, `--normalize` is a switch. */
  syntax: string;
  /** The --help line (the allowed values of an enum are added by commander). */
  help: string;
  /** Commander applies `default` itself and --help shows it. */
  showDefault?: boolean;
  /** The command fails without it. */
  required?: boolean;
}

export interface RunOptionSpec {
  /** Key in `_run.json` and field of the run's Redis hash (snake_case, the same name in both). */
  stored: string;
  /** A value when given (null, the unset value of some, is not a value). Its kind picks the Redis encoding. */
  schema: z.ZodType;
  /** The value when not given, and what a stored record or schedule without the field means. */
  default?: unknown;
  /** Stored only when not the default (see the file's doc). */
  optional?: boolean;
  /**
   * Unset, it is not the default: a resubmission keeps the run's, a new run resolves it from the
   * environment at submit (producer/claim-run.ts). `default` is then only what a stored run without it means.
   */
  resolvedAtSubmit?: boolean;
  /** How a refused resubmission names a difference; default the flag (`--precision (recorded ..., now ...)`). */
  refusal?: string;
  /** The commands that take it, as `flag` (or as their argument: the input). */
  takenBy: readonly RunCommand[];
  /** None for what the listing decides (input roots, carried columns) and for the input, an argument. */
  flag?: RunOptionFlag;
}

const uri = z.string().min(1).max(4096);

export const RUN_OPTIONS = {
  /**
   * The input as submitted, canonical: an s3:// prefix, a local folder or file, a list of image URIs
   * (.txt, .jsonl, .csv, .parquet) or an S3 Inventory manifest (producer/list-inputs.ts). The
   * argument of each command.
   */
  input: { stored: 'input', schema: uri, refusal: 'the input', takenBy: EVERY_COMMAND },
  /** Root output URI, canonical; results go under `<output>/<run>/`. */
  output: {
    stored: 'output',
    schema: uri,
    takenBy: EVERY_COMMAND,
    flag: { syntax: '--output <uri>', help: 'where results go: s3://bucket/prefix or a local folder', required: true },
  },
  /**
   * Model reference the workers load (shared/inference/model-ref.ts). Unset: MODEL_URI, else the
   * local cache, resolved at submit (at `schedule add` for a schedule, so every firing runs the
   * same model); a resubmission that names none keeps the run's.
   */
  model: {
    stored: 'model',
    schema: uri,
    resolvedAtSubmit: true,
    takenBy: EVERY_COMMAND,
    flag: {
      syntax: '--model <uri>',
      help: 'model: a folder, file:// or s3:// URI (default MODEL_URI or the local cache)',
    },
  },
  /**
   * Precision the model runs at (shared/inference/precision.ts): an int8 run's rows come from
   * another model. Unset: PRECISION, resolved like the model. Runs defined before int8 existed
   * have none stored: fp32. Change it for speed on CPUs with AVX-512 VNNI, after `evaluate`.
   */
  precision: {
    stored: 'precision',
    schema: z.enum(PRECISIONS),
    default: DEFAULT_PRECISION,
    optional: true,
    resolvedAtSubmit: true,
    takenBy: EVERY_COMMAND,
    flag: {
      syntax: '--precision <precision>',
      help: 'model precision (default PRECISION or fp32): int8 runs about 3x faster on CPUs with AVX-512 VNNI, on the onnx engine, with labels and embeddings close to fp32 (resnet-batch evaluate measures how close on your images)',
    },
  },
  /**
   * Images per shard job, 1..MAX_SHARD_SIZE, default 256. Shard i holds the same images on a
   * resubmission only with the same size. Smaller shards spread a small run over more workers.
   */
  shardSize: {
    stored: 'shard_size',
    schema: z.number().int().min(1).max(MAX_SHARD_SIZE),
    default: DEFAULT_SHARD_SIZE,
    takenBy: EVERY_COMMAND,
    flag: { syntax: '--shard-size <k>', help: 'images per shard job', showDefault: true },
  },
  /**
   * L2-normalise the vectors (RunManifest.embeddings.normalization); default false, the raw pooled
   * features. Set it for inner-product or cosine search.
   */
  normalize: {
    stored: 'normalize',
    schema: z.boolean(),
    default: false,
    takenBy: EVERY_COMMAND,
    flag: {
      syntax: '--normalize',
      help: 'L2-normalise the vectors (for inner-product / cosine search, e.g. FAISS IndexFlatIP); default: raw pooled features',
    },
  },
  /**
   * Base run of an incremental run: only images new, changed (another ETag) or not ok there are
   * processed (producer/incremental-filter.ts); null for a full run. Only submit takes it: a
   * schedule picks its last finished run at each firing (`schedule add --incremental`), and `run`
   * starts from nothing.
   */
  since: {
    stored: 'since',
    schema: z.string().regex(RUN_ID_PATTERN),
    default: null,
    optional: true,
    takenBy: ['submit'],
    flag: {
      syntax: '--since <run>',
      help: 'process only images new or changed (another ETag) since this finished run; all of them when its model differs',
    },
  },
  /** Roots every image URI of the run lies under (checked again by the worker); set by the listing. */
  inputRoots: {
    stored: 'input_roots',
    schema: z.array(uri),
    refusal: 'the input roots (where the manifest points)',
    takenBy: [],
  },
  /** Extra fields of the input's lines carried into every part, with their types; set by the listing. */
  carriedColumns: {
    stored: 'carried_columns',
    schema: z.array(z.custom<CarriedColumn>((value) => typeof value === 'object' && value !== null)),
    refusal: "the manifest's extra fields",
    takenBy: [],
  },
  /**
   * The column of image URLs of a CSV or Parquet list; null for the default (`url`, else `uri`)
   * and for other inputs. Set it when the list names the column otherwise (LAION's `URL`).
   */
  urlColumn: {
    stored: 'url_column',
    schema: z.string().min(1).max(1024),
    default: null,
    optional: true,
    takenBy: EVERY_COMMAND,
    flag: {
      syntax: '--url-column <name>',
      help: 'the column of image URLs in a .csv or .parquet list (default: url, else uri)',
    },
  },
} as const satisfies Readonly<Record<string, RunOptionSpec>>;

/** A table of run options: RUN_OPTIONS, or (in tests) an extended one. */
export type RunOptionTable = Readonly<Record<string, RunOptionSpec>>;

type Table = typeof RUN_OPTIONS;
export type RunOptionName = keyof Table;

/** A field's value: what its schema allows, or null when null is how it is unset. */
type ValueOf<K extends RunOptionName> =
  | z.infer<Table[K]['schema']>
  | (Table[K] extends { default: null } ? null : never);

/** A run's definition as its record holds it (RunRecord, camelCase names). */
export type RunFields = { -readonly [K in RunOptionName]: ValueOf<K> };

/** The same, under the names of `_run.json` and the Redis hash. */
export type StoredRunFields = { -readonly [K in RunOptionName as Table[K]['stored']]: ValueOf<K> };

type OptionalName = { [K in RunOptionName]: Table[K] extends { optional: true } ? K : never }[RunOptionName];

/**
 * The fields as a new record is given them: an optional one may be left out (or undefined) for
 * its default, the others are required.
 */
export type NewRunFields = { -readonly [K in Exclude<RunOptionName, OptionalName>]: ValueOf<K> } & {
  -readonly [K in OptionalName]?: ValueOf<K>;
};

/** The names a command takes. */
export type TakenBy<C extends RunCommand> = {
  [K in RunOptionName]: C extends Table[K]['takenBy'][number] ? K : never;
}[RunOptionName];

/** What a command is given: the input and output, and any other option it takes (unset: undefined). */
export type RunOptionsOf<C extends RunCommand> = { input: string; output: string } & {
  -readonly [K in Exclude<TakenBy<C>, 'input' | 'output'>]?: NonNullable<ValueOf<K>>;
};

type ResolvedName = { [K in RunOptionName]: Table[K] extends { resolvedAtSubmit: true } ? K : never }[RunOptionName];

/** The definition a submit asks for: the fields resolved at submit are undefined when it named none. */
export type RequestedRunFields = Omit<RunFields, ResolvedName> & Partial<Pick<RunFields, ResolvedName>>;

/**
 * A command's options as a schedule stores them (run-fields.ts storedOptions): every one present,
 * but an optional one only when not its default.
 */
export type StoredOptions<C extends RunCommand> = {
  -readonly [K in Exclude<TakenBy<C>, OptionalName>]: ValueOf<K>;
} & { -readonly [K in Extract<TakenBy<C>, OptionalName>]?: NonNullable<ValueOf<K>> };
