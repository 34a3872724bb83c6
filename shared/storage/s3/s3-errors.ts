import { describeError, ObjectNotFoundError, ResnetBatchError, StorageError } from '../../errors.ts';

/**
 * Maps whatever the AWS SDK threw onto the project's errors, so the job-outcome mapping decides
 * retries from `retryable` alone:
 *   NoSuchKey / 404 on an object        -> ObjectNotFoundError (a per-image NOT_FOUND row)
 *   NoSuchBucket, 403, bad credentials  -> StorageError, not retryable (configuration; fix it)
 *   network, timeouts, 5xx, throttling  -> StorageError, retryable (it may pass)
 *   any other 4xx                       -> StorageError, not retryable
 * The message always carries the URI and the endpoint.
 */
export function toStorageError(operation: string, uri: string, endpoint: string, error: unknown): ResnetBatchError {
  if (error instanceof ResnetBatchError) return error;
  const name = errorName(error);
  const status = httpStatus(error);
  const where = `S3 ${operation} of ${uri} at ${endpoint}`;
  if (name === 'NoSuchKey' || (name === 'NotFound' && status === 404)) return new ObjectNotFoundError(uri);
  if (name === 'NoSuchBucket') {
    return new StorageError(`${where} failed: the bucket does not exist; create it or fix the URI`, {
      retryable: false,
      cause: error,
      kind: 'bucket-missing',
    });
  }
  if (name === 'CredentialsProviderError') {
    return new StorageError(
      `${where} failed: no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run on a host with an instance role`,
      { retryable: false, cause: error },
    );
  }
  if (status === 403 || status === 401 || CREDENTIAL_ERRORS.has(name)) {
    return new StorageError(
      `${where} was refused (${name}, HTTP ${status ?? '?'}); check the credentials, the region and the bucket policy`,
      { retryable: false, cause: error, kind: 'access-denied' },
    );
  }
  if (status === undefined || status >= 500 || status === 429 || THROTTLING.has(name)) {
    const reason =
      status === undefined
        ? `could not reach the endpoint (${name}: ${describeError(error)})`
        : `${name} (HTTP ${status})`;
    return new StorageError(
      `${where} failed: ${reason}; it will be retried, check that the endpoint is up if it persists`,
      {
        retryable: true,
        cause: error,
      },
    );
  }
  return new StorageError(`${where} failed: ${name} (HTTP ${status}): ${describeError(error)}`, {
    retryable: false,
    cause: error,
  });
}

const CREDENTIAL_ERRORS = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
]);
const THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestTimeout', 'RequestTimeTooSkewed']);

function errorName(error: unknown): string {
  if (error instanceof Error) return error.name;
  return 'UnknownError';
}

function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  return metadata?.httpStatusCode;
}
