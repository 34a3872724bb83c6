/**
 * Every error the project raises on purpose is a ResnetBatchError: a stable `code` that logs,
 * result rows and tests can match on, and `retryable`, which says whether trying the same thing
 * again can help. shared/queue/job-outcome.ts is the one place that maps these onto BullMQ (retry with
 * backoff, or UnrecoverableError).
 *
 * Messages follow "what, expected, received, how to fix", e.g.
 *   REDIS_URL is not a redis:// or rediss:// URL (got 'localhost:6379'); set it like redis://localhost:6379
 */
export class ResnetBatchError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** Bad flags, environment or files: refused at start, before anything is enqueued. Never retryable. */
export class ConfigError extends ResnetBatchError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('CONFIG', message, { retryable: false, ...options });
  }
}

/**
 * One image could not be turned into a model input. It becomes an error row in the shard's
 * metadata; it never fails the shard. `code` is one of ImageErrorCode.
 */
export class ImageError extends ResnetBatchError {
  constructor(code: ImageErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { retryable: false, ...options });
  }
}

/** The codes of an image's own failures: each becomes an error row, never a failed shard. */
export const IMAGE_ERROR_CODES = [
  'NOT_FOUND', // the object was listed but is gone, or its bucket does not exist
  'NOT_A_FILE', // a FIFO, socket, device or directory named like an image
  'FORBIDDEN', // the store refused to read it (permissions, bucket policy)
  'TIMEOUT', // the read did not finish within FETCH_TIMEOUT_MS
  'EMPTY', // zero bytes
  'TOO_LARGE', // over the byte limit
  'TOO_MANY_PIXELS', // over the pixel limit (decompression bomb guard)
  'UNSUPPORTED_FORMAT', // not an image sharp decodes, or a refused one (SVG)
  'DECODE_FAILED', // a known format whose bytes are broken (truncated, bad CRC)
  // http(s) inputs (shared/storage/http/http-fetch.ts); an HTTP status the server answered is HTTP_<status>
  'BLOCKED_ADDRESS', // the host resolves to a loopback, private, link-local... address not in HTTP_ALLOWED_HOSTS
  'OPTED_OUT', // the response carries X-Robots-Tag noai or noimageai (HTTP_RESPECT_OPT_OUT)
  'TOO_MANY_REDIRECTS', // more than HTTP_MAX_REDIRECTS redirects, or a redirect to a URL that is not http(s)
  'UNREACHABLE', // the host name does not resolve, or no connection could be made, after the retries
] as const;

/** HTTP_404, HTTP_403, HTTP_503...: the status an http(s) server answered with, after any retries. */
export type HttpStatusCode = `HTTP_${number}`;

export type ImageErrorCode = (typeof IMAGE_ERROR_CODES)[number] | HttpStatusCode;

const IMAGE_CODES: ReadonlySet<string> = new Set(IMAGE_ERROR_CODES);

/** True for the code of an image's own failure (one of IMAGE_ERROR_CODES, or HTTP_<status>). */
export function isImageErrorCode(code: string): code is ImageErrorCode {
  return IMAGE_CODES.has(code) || /^HTTP_[1-5][0-9]{2}$/.test(code);
}

/** The model artifact is missing, corrupt or does not match the spec. */
export class ModelError extends ResnetBatchError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('MODEL', message, { retryable: false, ...options });
  }
}

/** An engine was asked for that is not installed or cannot start on this host. */
export class EngineUnavailableError extends ResnetBatchError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ENGINE_UNAVAILABLE', message, { retryable: false, ...options });
  }
}

/** Object storage failed in a way that may pass (network, 5xx, throttling): the shard attempt fails and is retried. */
export class StorageError extends ResnetBatchError {
  /**
   * What is wrong, when it is about where the object lives rather than the store being down:
   * reading one image from a bucket that does not exist, or that this worker may not read, makes
   * that image an error row (worker/fetch-image.ts), not a failed shard.
   */
  readonly kind: 'bucket-missing' | 'access-denied' | undefined;

  constructor(
    message: string,
    options: { retryable?: boolean; cause?: unknown; kind?: 'bucket-missing' | 'access-denied' } = {},
  ) {
    super('STORAGE', message, { retryable: options.retryable ?? true, cause: options.cause });
    this.kind = options.kind;
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The object does not exist (or no longer does). Per image, it becomes a NOT_FOUND error row. */
export class ObjectNotFoundError extends ResnetBatchError {
  constructor(uri: string) {
    super('NOT_FOUND', `object not found: ${uri}`, { retryable: false });
  }
}

/** The object is larger than the limit the caller set. Per image, it becomes a TOO_LARGE error row. */
export class ObjectTooLargeError extends ResnetBatchError {
  constructor(uri: string, size: number, maxBytes: number) {
    super(
      'TOO_LARGE',
      `object is ${size} bytes, over the limit of ${maxBytes} bytes: ${uri}; raise MAX_IMAGE_BYTES to accept it`,
      {
        retryable: false,
      },
    );
  }
}

/** The URI names something that is not one plain file (a FIFO, a socket, a device, a directory). */
export class NotAFileError extends ResnetBatchError {
  constructor(uri: string, kind: string) {
    super('NOT_A_FILE', `${uri} is a ${kind}, not a regular file; only plain files are read`, { retryable: false });
  }
}

/**
 * A conditional write found the object it must not replace (a commit marker, a run definition):
 * someone else committed first. Never retried as is; the caller reads what is there instead.
 */
export class PreconditionFailedError extends ResnetBatchError {
  constructor(uri: string) {
    super('PRECONDITION_FAILED', `${uri} already exists; a conditional write never replaces it`, { retryable: false });
  }
}
