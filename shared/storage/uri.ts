import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from '../errors.ts';

/**
 * Storage URIs: the one place that turns what a user or a job wrote into a location.
 *
 * Accepted forms:
 *   s3://bucket/key           the key is a literal S3 key: nothing is percent-decoded or normalised,
 *                             so `s3://b/a%2Fb` is the key `a%2Fb` (as the AWS CLI reads it).
 *   file:///abs/path          an RFC 8089 file URI: percent-decoded, so `%20` is a space; an encoded
 *                             slash (`%2F`) is refused because it would hide a path separator.
 *   /abs/path, ./rel, rel     a plain path, taken literally and made absolute against `cwd`.
 *
 * Canonical strings (what ObjectInfo.uri and normalizeUri return):
 *   `s3://bucket/key` with the key verbatim, and `file:///abs/path` percent-encoded the way
 *   node's pathToFileURL encodes (spaces as %20, non-ASCII as UTF-8 escapes, `%` as %25), so the
 *   string round-trips through parseUri exactly.
 */
export type StorageUri = S3Location | FileLocation;

export interface S3Location {
  scheme: 's3';
  bucket: string;
  /** Literal object key or prefix, without a leading slash; '' means the whole bucket. */
  key: string;
}

export interface FileLocation {
  scheme: 'file';
  /** Absolute, normalised filesystem path (no `.`/`..` segments, no trailing separator). */
  path: string;
}

const EXPECTED = "expected s3://bucket/key, file:///absolute/path or a local path like ./images";
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]+):/;
/** S3 bucket naming rules (3-63 chars of a-z 0-9 . -, starting and ending alphanumeric). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** S3 caps keys at 1024 bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;

/**
 * Parses any accepted form. Throws ConfigError (with the fix) for empty input, unknown schemes
 * (http://, ftp://, ...), malformed buckets, and file URIs with a host, query, fragment or `%2F`.
 * A one-letter "scheme" is not treated as one; a local name containing ':' needs a `./` in front.
 */
export function parseUri(input: string, cwd: string = process.cwd()): StorageUri {
  if (input.trim() === '') throw new ConfigError(`storage location is empty; ${EXPECTED}`);
  if (input.includes('\0')) throw new ConfigError(`storage location '${printable(input)}' contains a NUL byte; ${EXPECTED}`);
  const scheme = SCHEME.exec(input)?.[1]?.toLowerCase();
  if (scheme === undefined) return { scheme: 'file', path: resolve(cwd, input) };
  if (scheme === 's3') return parseS3(input);
  if (scheme === 'file') return parseFile(input);
  throw new ConfigError(
    `unsupported storage scheme '${scheme}:' in '${input}'; ${EXPECTED}. ` +
      `Copy remote files to S3 or a local folder first, or write a local name containing ':' as ./${input}`,
  );
}

function parseS3(input: string): S3Location {
  if (!/^s3:\/\//i.test(input)) throw new ConfigError(`'${input}' is not an s3:// URI; write it as s3://bucket/key`);
  const rest = input.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const key = slash === -1 ? '' : rest.slice(slash + 1);
  if (!BUCKET.test(bucket)) {
    throw new ConfigError(
      `'${bucket}' in '${input}' is not a valid S3 bucket name; expected 3-63 characters of a-z, 0-9, '.' and '-', like s3://my-bucket/images/`,
    );
  }
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new ConfigError(`S3 key in '${input.slice(0, 80)}...' is longer than ${MAX_KEY_BYTES} bytes; S3 refuses it, shorten the key`);
  }
  return { scheme: 's3', bucket, key };
}

function parseFile(input: string): FileLocation {
  let url: URL;
  try {
    url = new URL(input);
  } catch (cause) {
    throw new ConfigError(`'${input}' is not a valid file URI; ${EXPECTED}`, { cause });
  }
  if (!input.toLowerCase().startsWith('file://')) {
    throw new ConfigError(`'${input}' is not a file:// URI; write an absolute one as file:///abs/path or a plain path like ./images`);
  }
  if (url.host !== '' && url.host !== 'localhost') {
    throw new ConfigError(`file URI '${input}' names host '${url.host}'; only local files are supported, write it as file:///abs/path`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new ConfigError(`file URI '${input}' has a '?' or '#' part; encode them in the path as %3F and %23, or use a plain path`);
  }
  try {
    return { scheme: 'file', path: resolve(fileURLToPath(url)) };
  } catch (cause) {
    throw new ConfigError(
      `file URI '${input}' cannot be decoded to a path (an encoded '/' as %2F, or a broken %-escape); write the path plainly`,
      { cause },
    );
  }
}

/** The canonical string for a parsed location (see the header for the exact forms). */
export function formatUri(location: StorageUri): string {
  return location.scheme === 's3' ? `s3://${location.bucket}/${location.key}` : pathToFileURL(location.path).href;
}

/** Parses and formats: `./a b.jpg` -> `file:///cwd/a%20b.jpg`, `S3://b/k` -> `s3://b/k`. */
export function normalizeUri(input: string, cwd: string = process.cwd()): string {
  return formatUri(parseUri(input, cwd));
}

/**
 * Appends a '/'-separated relative key to a prefix: (`s3://b/out`, `run/x.npy`) ->
 * `s3://b/out/run/x.npy`. The key is literal on both schemes (`%2F` stays three characters).
 * Throws ConfigError when the key is absolute or empty, or when the result would leave the
 * prefix (`..` on a file prefix, or `.`/`..` segments on S3, see isWithin).
 */
export function joinUri(prefixUri: string, relativeKey: string): string {
  if (relativeKey === '' || relativeKey.startsWith('/')) {
    throw new ConfigError(`cannot join '${relativeKey}' to '${prefixUri}'; expected a relative key like run-1/part-00000.npy`);
  }
  const prefix = parseUri(prefixUri);
  const joined: StorageUri =
    prefix.scheme === 's3'
      ? { ...prefix, key: prefix.key === '' || prefix.key.endsWith('/') ? prefix.key + relativeKey : `${prefix.key}/${relativeKey}` }
      : { scheme: 'file', path: resolve(prefix.path, ...relativeKey.split('/')) };
  const result = formatUri(joined);
  if (!isWithin(prefixUri, result)) {
    throw new ConfigError(`key '${relativeKey}' leaves '${prefixUri}'; keys must stay under their prefix (no '..' segments)`);
  }
  return result;
}

/**
 * The key of `uri` relative to the folder `rootUri` ('' when they are the same location), or
 * null when `uri` is not inside it. The root is a folder, so `s3://b/out` does not contain
 * `s3://b/output/x`. File paths are compared after normalisation (`..` resolved). S3 keys are
 * compared literally, but a key with a `.` or `..` segment is never inside anything: S3 keeps
 * it literal, while some S3-compatible servers and proxies normalise request paths, so the
 * object actually touched could be outside the root.
 */
export function relativeKeyWithin(rootUri: string, uri: string): string | null {
  const root = parseUri(rootUri);
  const target = parseUri(uri);
  if (root.scheme === 's3' && target.scheme === 's3') {
    if (root.bucket !== target.bucket || hasDotSegment(target.key)) return null;
    const folder = root.key === '' || root.key.endsWith('/') ? root.key : `${root.key}/`;
    if (target.key === root.key || target.key === folder) return '';
    return target.key.startsWith(folder) ? target.key.slice(folder.length) : null;
  }
  if (root.scheme === 'file' && target.scheme === 'file') {
    const rel = relative(root.path, target.path);
    if (rel === '') return '';
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return null;
    return rel.split(sep).join('/');
  }
  return null;
}

/** True when `uri` is `rootUri` itself or inside it (see relativeKeyWithin for the rules). */
export function isWithin(rootUri: string, uri: string): boolean {
  return relativeKeyWithin(rootUri, uri) !== null;
}

function hasDotSegment(key: string): boolean {
  return key.split('/').some((segment) => segment === '.' || segment === '..');
}

function printable(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
