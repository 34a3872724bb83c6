import { StorageError } from '../../errors.ts';

/**
 * Maps a failed filesystem call onto the project's errors, as s3-errors.ts does for S3: whether
 * trying again can help decides `retryable`, and the message carries the URI and what to check.
 */
export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

/** The path is not there (any more): a missing object, not a failure. */
export function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Permission and read-only problems will not pass by retrying; EIO, EMFILE and the like might. */
const PERMANENT = new Set([
  'EACCES',
  'EPERM',
  'EROFS',
  'ENAMETOOLONG',
  'ENOSPC',
  'EDQUOT',
  'EEXIST',
  'ENOTDIR',
  'EISDIR',
  'ELOOP',
]);

export function storageError(operation: string, uri: string, error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  const code = errorCode(error) ?? 'unknown';
  const fix = PERMANENT.has(code) ? 'check the path and its permissions' : 'retry; if it persists, check the disk';
  return new StorageError(`local ${operation} of ${uri} failed with ${code}; ${fix}`, {
    retryable: !PERMANENT.has(code),
    cause: error,
  });
}
