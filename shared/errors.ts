import type { ErrorCode, ImageErrorCode } from './error-codes.ts';

export {
  ERROR_CODE_ROWS,
  ERROR_CODES,
  type ErrorCode,
  type ErrorCodeDoc,
  type ErrorScope,
  HTTP_STATUS_CODE_DOC,
  type HttpStatusCode,
  IMAGE_ERROR_CODES,
  type ImageErrorCode,
  isImageErrorCode,
} from './error-codes.ts';

/**
 * Every error the project raises on purpose is a ResnetBatchError: a stable `code` that logs,
 * result rows and tests can match on, one of the closed set in shared/error-codes.ts (an unlisted
 * code does not compile), and `retryable`, which says whether trying the same thing again can
 * help. shared/queue/job-outcome.ts is the one place that maps these onto BullMQ (retry with
 * backoff, or UnrecoverableError).
 *
 * Messages follow "what, expected, received, how to fix", e.g.
 *   REDIS_URL is not a redis:// or rediss:// URL (got 'localhost:6379'); set it like redis://localhost:6379
 */
export class ResnetBatchError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
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
  declare readonly code: ImageErrorCode;

  constructor(code: ImageErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { retryable: false, ...options });
  }
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
