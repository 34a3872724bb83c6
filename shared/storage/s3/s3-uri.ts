import { ConfigError } from '../../errors.ts';
import type { StoreScheme } from '../store-scheme.ts';

/**
 * URIs of S3 and S3-compatible stores: `s3://bucket/key`. The key is a literal S3 key: nothing is
 * percent-decoded or normalised, so `s3://b/a%2Fb` is the key `a%2Fb` (as the AWS CLI reads it),
 * and the canonical form is the same string with the scheme in lower case.
 *
 * A root is a folder, so `s3://b/out` does not contain `s3://b/output/x`. A key with a `.` or `..`
 * segment is never inside anything: S3 keeps it literal, while some S3-compatible servers and
 * proxies normalise request paths, so the object actually touched could be outside the root.
 */
export interface S3Location {
  scheme: 's3';
  bucket: string;
  /** Literal object key or prefix, without a leading slash; '' means the whole bucket. */
  key: string;
}

/** S3 bucket naming rules (3-63 chars of a-z 0-9 . -, starting and ending alphanumeric). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** S3 caps keys at 1024 bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;

export function parseS3Uri(input: string): S3Location {
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
    throw new ConfigError(
      `S3 key in '${input.slice(0, 80)}...' is longer than ${MAX_KEY_BYTES} bytes; S3 refuses it, shorten the key`,
    );
  }
  return { scheme: 's3', bucket, key };
}

export function formatS3Uri(location: Omit<S3Location, 'scheme'>): string {
  return `s3://${location.bucket}/${location.key}`;
}

function hasDotSegment(key: string): boolean {
  return key.split('/').some((segment) => segment === '.' || segment === '..');
}

const folderOf = (key: string): string => (key === '' || key.endsWith('/') ? key : `${key}/`);

/** The URI syntax of S3 (s3-store.ts adds how to open one). */
export const s3UriSyntax: Omit<StoreScheme<S3Location>, 'open'> = {
  scheme: 's3',
  example: 's3://bucket/key',
  local: false,
  namesTellFormat: true,
  parse: (input) => parseS3Uri(input),
  format: formatS3Uri,
  relativeKeyWithin(root, target) {
    if (root.bucket !== target.bucket || hasDotSegment(target.key)) return null;
    const folder = folderOf(root.key);
    if (target.key === root.key || target.key === folder) return '';
    return target.key.startsWith(folder) ? target.key.slice(folder.length) : null;
  },
  join: (prefix, key) => ({ ...prefix, key: folderOf(prefix.key) + key }),
  resolve(base, reference) {
    if (reference.startsWith('/')) {
      throw new ConfigError(
        `'${reference}' is an absolute local path, but the manifest is in S3; write s3://bucket/key or a key relative to the manifest`,
      );
    }
    if (hasDotSegment(reference)) {
      throw new ConfigError(
        `key '${reference}' leaves the manifest's folder; keys must stay under their prefix (no '.' or '..' segments)`,
      );
    }
    return { ...base, key: base.key.slice(0, base.key.lastIndexOf('/') + 1) + reference };
  },
  rootFolder: (location) => ({
    group: `s3://${location.bucket}`,
    segments: location.key.split('/').slice(0, -1),
    minSegments: 0,
  }),
  folderAt: (sample, segments) => ({
    scheme: 's3',
    bucket: sample.bucket,
    key: segments.length === 0 ? '' : `${segments.join('/')}/`,
  }),
  writeHint: (location) =>
    `create the bucket (aws s3 mb s3://${location.bucket}, or in MinIO's console) and allow s3:PutObject and s3:GetObject on it, or fix --output`,
};
