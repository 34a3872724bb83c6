import { z } from 'zod';
import {
  type NewRunFields,
  type RequestedRunFields,
  RUN_OPTIONS,
  type RunCommand,
  type RunFields,
  type RunOptionSpec,
  type RunOptionsOf,
  type RunOptionTable,
  type StoredRunFields,
} from './run-options.ts';

/**
 * Everything derived from the run options table (run-options.ts): the Redis hash of a record,
 * the fields of `_run.json`, what a command takes and what a schedule stores. No I/O here. Every
 * function takes the table as its last argument (RUN_OPTIONS by default) so that a test can show
 * that a new entry reaches each of them with no other edit.
 */

type Values = Record<string, unknown>;

/** How a field is kept in the run's Redis hash, by the kind of its schema. */
type RedisKind = 'text' | 'integer' | 'switch' | 'json';

function redisKind(schema: z.ZodType): RedisKind {
  if (schema instanceof z.ZodString || schema instanceof z.ZodEnum) return 'text';
  if (schema instanceof z.ZodNumber) return 'integer';
  if (schema instanceof z.ZodBoolean) return 'switch';
  return 'json';
}

const ENCODE: Record<RedisKind, (value: unknown) => string> = {
  text: String,
  integer: String,
  switch: (value) => (value ? '1' : '0'),
  json: (value) => JSON.stringify(value),
};

const DECODE: Record<RedisKind, (raw: string) => unknown> = {
  text: (raw) => raw,
  integer: Number,
  switch: (raw) => raw === '1',
  json: (raw) => JSON.parse(raw),
};

/** What a half-written record (a reader between create's two steps) shows for a field always stored. */
const EMPTY: Record<RedisKind, unknown> = { text: '', integer: 0, switch: false, json: [] };

const entries = (table: RunOptionTable): [string, RunOptionSpec][] => Object.entries(table);

/** An optional field at its default (or unset) is not stored. */
function leftOut(spec: RunOptionSpec, value: unknown): boolean {
  return value === undefined || (spec.optional === true && (value === null || value === spec.default));
}

/** The Redis hash fields of a new run's definition (RunRegistry.create). */
export function hashOfRunFields(fields: NewRunFields, table: RunOptionTable = RUN_OPTIONS): Record<string, string> {
  const hash: Record<string, string> = {};
  for (const [name, spec] of entries(table)) {
    const value = (fields as Values)[name];
    if (!leftOut(spec, value)) hash[spec.stored] = ENCODE[redisKind(spec.schema)](value);
  }
  return hash;
}

/** A record's definition from its Redis hash (RunRegistry.get). */
export function runFieldsOfHash(hash: Record<string, string>, table: RunOptionTable = RUN_OPTIONS): RunFields {
  const fields: Values = {};
  for (const [name, spec] of entries(table)) {
    const raw = hash[spec.stored];
    const kind = redisKind(spec.schema);
    fields[name] = raw !== undefined ? DECODE[kind](raw) : spec.optional ? spec.default : EMPTY[kind];
  }
  return fields as RunFields;
}

/** The fields under their `_run.json` names, in the table's order (the order `_run.json` lists them). */
export function storedRunFields(fields: RunFields, table: RunOptionTable = RUN_OPTIONS): StoredRunFields {
  return Object.fromEntries(
    entries(table).map(([name, spec]) => [spec.stored, (fields as Values)[name]]),
  ) as StoredRunFields;
}

/** A `_run.json` as read: a field written before it existed is absent, and means its default. */
export function withStoredDefaults<T extends object>(stored: T, table: RunOptionTable = RUN_OPTIONS): T {
  const filled: Values = { ...(stored as Values) };
  for (const [, spec] of entries(table))
    if (spec.optional && filled[spec.stored] === undefined) filled[spec.stored] = spec.default;
  return filled as T;
}

/** The fields that make two definitions one run, each with the words a refusal names it in. */
export function definingFields(table: RunOptionTable = RUN_OPTIONS): Array<[stored: string, words: string]> {
  return entries(table).map(([name, spec]) => [spec.stored, spec.refusal ?? spec.flag?.syntax.split(' ')[0] ?? name]);
}

/**
 * The run options among `values` a command takes, leaving out the rest (a `run`'s --workers, a
 * schedule's --cron) and the unset ones.
 */
export function pickRunOptions<C extends RunCommand>(
  values: object,
  command: C,
  table: RunOptionTable = RUN_OPTIONS,
): RunOptionsOf<C> {
  const picked: Values = {};
  for (const [name, spec] of entries(table)) {
    const value = (values as Values)[name];
    if (spec.takenBy.includes(command) && value !== undefined && value !== null) picked[name] = value;
  }
  return picked as RunOptionsOf<C>;
}

/**
 * The definition a submit asks for: each field given, else its default, but those resolved at
 * submit (model, precision), which stay undefined. The fields the listing sets are the caller's.
 */
export function requestedRunFields(
  options: object,
  table: RunOptionTable = RUN_OPTIONS,
): Omit<RequestedRunFields, 'inputRoots' | 'carriedColumns'> {
  const requested: Values = {};
  for (const [name, spec] of entries(table)) {
    const value = (options as Values)[name];
    requested[name] = value !== undefined || spec.resolvedAtSubmit ? value : spec.default;
  }
  return requested as Omit<RequestedRunFields, 'inputRoots' | 'carriedColumns'>;
}

/**
 * The options a command takes as a schedule stores them: each given one, or its default; an
 * optional one only when not the default (schedule-spec.ts ScheduleData).
 */
export function storedOptions(values: object, command: RunCommand, table: RunOptionTable = RUN_OPTIONS): Values {
  const stored: Values = {};
  for (const [name, spec] of entries(table)) {
    if (!spec.takenBy.includes(command)) continue;
    const value = (values as Values)[name] ?? spec.default;
    if (!leftOut(spec, value)) stored[name] = value;
  }
  return stored;
}

/** The reverse of storedOptions: what a stored optional field's absence means, filled in. */
export function optionsOfStored<C extends RunCommand>(
  stored: object,
  command: C,
  table: RunOptionTable = RUN_OPTIONS,
): RunOptionsOf<C> {
  const filled: Values = { ...stored };
  for (const [name, spec] of entries(table))
    if (spec.optional && filled[name] === undefined) filled[name] = spec.default;
  return pickRunOptions(filled, command, table);
}

/**
 * The zod shape of the options a command takes, as storedOptions writes them: an optional field
 * may be absent, a field with a default may be absent in data written before it existed.
 */
export function storedOptionsShape(
  command: RunCommand,
  table: RunOptionTable = RUN_OPTIONS,
): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, spec] of entries(table)) {
    if (!spec.takenBy.includes(command)) continue;
    shape[name] = spec.optional
      ? spec.schema.optional()
      : spec.default !== undefined
        ? spec.schema.default(spec.default)
        : spec.schema;
  }
  return shape;
}

/** A flag of a command, as commander declares it (bin/cli-program.ts). */
export interface RunFlag {
  syntax: string;
  help: string;
  /** The allowed values of an enum. */
  choices?: readonly string[];
  /** The value is a whole number (parsed as a positive integer). */
  integer: boolean;
  /** Applied by commander and shown in --help. */
  default?: unknown;
  required: boolean;
}

/** The run definition's flags a command takes, in the table's order. */
export function runFlagsOf(command: RunCommand, table: RunOptionTable = RUN_OPTIONS): RunFlag[] {
  return entries(table).flatMap(([, spec]) => {
    const flag = spec.flag;
    if (flag === undefined || !spec.takenBy.includes(command)) return [];
    return [
      {
        syntax: flag.syntax,
        help: flag.help,
        ...(spec.schema instanceof z.ZodEnum ? { choices: spec.schema.options.map(String) } : {}),
        integer: spec.schema instanceof z.ZodNumber,
        ...(flag.showDefault ? { default: spec.default } : {}),
        required: flag.required === true,
      },
    ];
  });
}
