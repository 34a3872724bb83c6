import { ConfigError } from '../shared/errors.ts';
import {
  type CarriedColumn,
  type CarriedFields,
  type CarriedType,
  type CarriedValue,
  carriedColumnNamesProblem,
} from '../shared/output/columns.ts';
import { MAX_CARRIED_FIELDS, MAX_CARRIED_VALUE_CHARS } from '../shared/queue/job-payload.ts';

/**
 * The fields a manifest line carries into its image's rows: every field of a `.jsonl` line other
 * than `uri`, `size` and `etag` (a caption, a dataset label, an id), as clip-retrieval's
 * `--enable_metadata` and img2dataset's `save_additional_columns` carry them, so results join
 * back to the user's records.
 *
 * A run gives each field one column type, decided before the first shard is enqueued from every
 * value in the input (one pass over the manifest, the one that also finds its roots): a column
 * must have the same type in every part, or readers that scan `metadata/*.parquet` at once
 * (DuckDB, pyarrow datasets) refuse the run. See shared/output/columns.ts CarriedType.
 *
 * Limits, each refused with a message naming the field: at most MAX_CARRIED_FIELDS fields per line
 * and per run, string values of at most MAX_CARRIED_VALUE_CHARS characters (a line is also capped
 * in bytes, see manifest-lines.ts), and no field named like one of the output's own columns.
 */

/** Raw JSON values of a line's extra fields, before the run's types are applied. */
export type RawFields = Readonly<Record<string, unknown>>;

/** Fields a `.jsonl` line uses for the listing itself, never carried. */
export const LISTING_FIELDS: ReadonlySet<string> = new Set(['uri', 'size', 'etag']);

type Kind = 'int' | 'float' | 'bool' | 'string' | 'json';

/** Why a line's fields cannot be carried, or null when they can. Checked per line while listing. */
export function lineFieldsProblem(fields: RawFields): string | null {
  const names = Object.keys(fields);
  if (names.length > MAX_CARRIED_FIELDS) {
    return `the line has ${names.length} fields besides uri, size and etag; at most ${MAX_CARRIED_FIELDS} are carried into the output`;
  }
  for (const name of names) {
    if (name.length > 128) return `field name '${name.slice(0, 40)}...' is longer than 128 characters`;
    const text = asText(fields[name]);
    if (text !== null && text.length > MAX_CARRIED_VALUE_CHARS) {
      return `field '${name}' holds ${text.length} characters; at most ${MAX_CARRIED_VALUE_CHARS} are carried`;
    }
  }
  return null;
}

/** Collects the fields of every line of an input and decides the run's carried columns. */
export class CarriedColumnsBuilder {
  /** Field name -> the kinds of value seen, in order of first appearance. */
  private readonly kinds = new Map<string, Set<Kind>>();

  /** Notes one line's fields; ConfigError when a name clashes with an output column or the run has too many. */
  add(fields: RawFields, where: string): void {
    for (const [name, value] of Object.entries(fields)) {
      let seen = this.kinds.get(name);
      if (seen === undefined) {
        const problem = carriedColumnNamesProblem([...this.kinds.keys(), name], 'field');
        if (problem !== null) throw new ConfigError(`${where}: ${problem} in the manifest`);
        if (this.kinds.size >= MAX_CARRIED_FIELDS) {
          throw new ConfigError(
            `${where}: field '${name}' is one more than the ${MAX_CARRIED_FIELDS} distinct fields a run carries; drop fields from the manifest`,
          );
        }
        seen = new Set();
        this.kinds.set(name, seen);
      }
      const kind = kindOf(value);
      if (kind !== null) seen.add(kind);
    }
  }

  /** The run's carried columns, in order of first appearance. */
  columns(): CarriedColumn[] {
    return [...this.kinds].map(([name, kinds]) => ({ name, type: typeOf(kinds) }));
  }
}

/** A line's fields with the run's types applied; fields the line lacks are left out (they read as null). */
export function carriedFields(fields: RawFields, columns: readonly CarriedColumn[]): CarriedFields | undefined {
  if (columns.length === 0) return undefined;
  // Assignment makes an own field even for `constructor`; `__proto__` never gets here (carriedColumnNameProblem).
  const converted: Record<string, CarriedValue> = {};
  for (const column of columns) {
    if (Object.hasOwn(fields, column.name)) converted[column.name] = convert(fields[column.name], column.type);
  }
  return converted;
}

function kindOf(value: unknown): Kind | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isSafeInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'string';
  return 'json';
}

function typeOf(kinds: ReadonlySet<Kind>): CarriedType {
  if (kinds.size === 0) return 'string';
  if ([...kinds].every((kind) => kind === 'int')) return 'int64';
  if ([...kinds].every((kind) => kind === 'int' || kind === 'float')) return 'float64';
  if ([...kinds].every((kind) => kind === 'bool')) return 'bool';
  return 'string';
}

function convert(value: unknown, type: CarriedType): CarriedValue {
  if (value === null) return null;
  if (type === 'string') return asText(value);
  return value as CarriedValue;
}

/** A value as the text a string column holds: strings as they are, anything else as JSON text. */
function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}
