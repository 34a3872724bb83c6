import { describeError } from '../shared/errors.ts';
import type { ObjectInfo } from '../shared/storage/object-store.ts';
import { resolveReference } from '../shared/storage/uri.ts';
import { lineFieldsProblem, type RawFields } from './carried-fields.ts';

/**
 * One manifest line turned into the image it names. Two formats, chosen by the manifest's
 * extension:
 *   .txt    one URI or path per line; blank lines and lines starting with '#' are skipped.
 *   .jsonl  one JSON object per line: {"uri": "...", "size": 123, "etag": "...", ...}; "size"
 *           and "etag" are optional, blank lines are skipped, and every other field is carried
 *           into the image's output rows (carried-fields.ts).
 * Entries without a size get size -1 and etag '': the producer does not stat them (a manifest of a
 * million S3 objects would cost a million HEAD requests before the first shard); the worker learns
 * the size when it fetches the image.
 *
 * Relative paths resolve against the manifest's own folder, so a manifest travels with its
 * images. A manifest in a remote store (S3) may name only remote objects (absolute, or keys relative to its
 * folder): letting a remote file make workers read their local disks would be a way in.
 */
export type ManifestFormat = 'txt' | 'jsonl';

export type ParsedEntry =
  | { kind: 'entry'; info: ObjectInfo; fields: RawFields }
  | { kind: 'blank' }
  | { kind: 'invalid'; reason: string };

/** The schema's limits (shared/job-payload.ts): longer URIs or ETags would make the job invalid. */
const MAX_URI_LENGTH = 4096;
const MAX_ETAG_LENGTH = 256;

export function manifestFormat(uri: string): ManifestFormat | null {
  const lower = uri.toLowerCase();
  if (lower.endsWith('.txt')) return 'txt';
  if (lower.endsWith('.jsonl')) return 'jsonl';
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
  const { uri, size, etag, ...fields } = value as Record<string, unknown>;
  if (typeof uri !== 'string' || uri.trim() === '') return { kind: 'invalid', reason: 'no "uri" string field' };
  if (size !== undefined && !(Number.isSafeInteger(size) && (size as number) >= 0))
    return { kind: 'invalid', reason: `"size" must be a whole number of bytes (got ${JSON.stringify(size)})` };
  if (etag !== undefined && !(typeof etag === 'string' && etag.length <= MAX_ETAG_LENGTH))
    return { kind: 'invalid', reason: `"etag" must be a string of at most ${MAX_ETAG_LENGTH} characters` };
  const fieldsProblem = lineFieldsProblem(fields);
  if (fieldsProblem !== null) return { kind: 'invalid', reason: fieldsProblem };
  return resolveEntry(
    uri.trim(),
    (size as number | undefined) ?? -1,
    (etag as string | undefined) ?? '',
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
