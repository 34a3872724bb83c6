import { describeError } from '../shared/errors.ts';
import type { ObjectInfo } from '../shared/storage/object-store.ts';
import { resolveReference } from '../shared/storage/uri.ts';
import { lineFieldsProblem, type RawFields } from './carried-fields.ts';

/**
 * One entry of a list file turned into the image it names. The formats, chosen by the file's name:
 *   .txt           one URI or path per line; blank lines and lines starting with '#' are skipped.
 *   .jsonl         one JSON object per line: {"uri": "...", "size": 123, "etag": "...", ...}.
 *   .csv           a header row, then one row per image (table-list.ts, read by csv-rows.ts).
 *   .parquet       one row per image (table-list.ts, read by parquet-rows.ts).
 *   manifest.json  an S3 Inventory report's manifest (s3-inventory.ts): the bucket's objects.
 * In a .jsonl line and a CSV or Parquet row, the URI is the "uri" field (the --url-column of a
 * table, by default `url`, else `uri`); "size" and "etag" are optional listing facts, and every
 * other field is carried into the image's output rows (carried-fields.ts).
 * Entries without a size get size -1 and etag '': the producer does not stat them (a manifest of a
 * million S3 objects would cost a million HEAD requests before the first shard); the worker learns
 * the size when it fetches the image.
 *
 * Relative paths resolve against the manifest's own folder, so a manifest travels with its
 * images. A manifest in a remote store (S3) may name only remote objects (absolute, or keys relative to its
 * folder): letting a remote file make workers read their local disks would be a way in.
 */
export type ManifestFormat = 'txt' | 'jsonl' | 'csv' | 'parquet' | 's3-inventory';

export type ParsedEntry =
  | { kind: 'entry'; info: ObjectInfo; fields: RawFields }
  | { kind: 'blank' }
  | { kind: 'invalid'; reason: string };

/** The schema's limits (shared/queue/job-payload.ts): longer URIs or ETags would make the job invalid. */
const MAX_URI_LENGTH = 4096;
const MAX_ETAG_LENGTH = 256;

export function manifestFormat(uri: string): ManifestFormat | null {
  const lower = uri.toLowerCase();
  if (lower.endsWith('.txt')) return 'txt';
  if (lower.endsWith('.jsonl')) return 'jsonl';
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.parquet')) return 'parquet';
  if (lower.endsWith('/manifest.json')) return 's3-inventory';
  return null;
}

export function parseManifestLine(text: string, format: ManifestFormat, manifestUri: string): ParsedEntry {
  const trimmed = text.trim();
  if (trimmed === '' || (format === 'txt' && trimmed.startsWith('#'))) return { kind: 'blank' };
  if (format === 'txt') return resolveEntry(trimmed, -1, '', {}, manifestUri);
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    return { kind: 'invalid', reason: `not valid JSON (${describeError(error)})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { kind: 'invalid', reason: 'not a JSON object' };
  return parseManifestRecord(value as Record<string, unknown>, 'uri', manifestUri);
}

/**
 * One record of a list (a .jsonl object, a CSV or Parquet row) as an entry: `uriField` names the
 * image, `size` and `etag` are listing facts (a CSV's text "123" counts as a number), every other
 * field is carried. A record without a URI is invalid, and says which field it lacks.
 */
export function parseManifestRecord(
  record: Record<string, unknown>,
  uriField: string,
  manifestUri: string,
): ParsedEntry {
  const { [uriField]: uri, size: rawSize, etag: rawEtag, ...fields } = record;
  const size = typeof rawSize === 'string' && /^\d+$/.test(rawSize.trim()) ? Number(rawSize.trim()) : rawSize;
  const etag = rawEtag === '' ? undefined : rawEtag;
  if (typeof uri !== 'string' || uri.trim() === '') return { kind: 'invalid', reason: `no "${uriField}" string field` };
  if (size !== undefined && size !== null && size !== '' && !(Number.isSafeInteger(size) && (size as number) >= 0))
    return { kind: 'invalid', reason: `"size" must be a whole number of bytes (got ${JSON.stringify(size)})` };
  if (etag !== undefined && etag !== null && !(typeof etag === 'string' && etag.length <= MAX_ETAG_LENGTH))
    return { kind: 'invalid', reason: `"etag" must be a string of at most ${MAX_ETAG_LENGTH} characters` };
  const fieldsProblem = lineFieldsProblem(fields);
  if (fieldsProblem !== null) return { kind: 'invalid', reason: fieldsProblem };
  return resolveEntry(
    uri.trim(),
    typeof size === 'number' ? size : -1,
    typeof etag === 'string' ? etag : '',
    fields,
    manifestUri,
  );
}

function resolveEntry(
  reference: string,
  size: number,
  etag: string,
  fields: RawFields,
  manifestUri: string,
): ParsedEntry {
  let uri: string;
  try {
    uri = resolveReference(reference, manifestUri);
  } catch (error) {
    return { kind: 'invalid', reason: describeError(error) };
  }
  if (uri.length > MAX_URI_LENGTH)
    return { kind: 'invalid', reason: `URI is longer than ${MAX_URI_LENGTH} characters` };
  return { kind: 'entry', info: { uri, size, etag }, fields };
}
