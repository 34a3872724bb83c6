/**
 * The closed set of error codes: every code a user can meet, printed by the CLI
 * (`resnet-batch: CODE: message`), written at the start of an error row's `error` column
 * (`CODE: reason`), counted in the worker's metrics and the run report, and matched by tests.
 * A ResnetBatchError (shared/errors.ts) takes only an ErrorCode, so a code that is not listed
 * here does not compile. The string values are stored in Parquet error rows and logs: never
 * rename one, only add.
 *
 * The rows of README's error table are rendered from ERROR_CODE_ROWS, in this order.
 */

/**
 * Where a code surfaces, which says what it costs:
 *   image   one image's error row in its shard's Parquet; the shard and the run carry on
 *   shard   one attempt of a shard job fails: BullMQ retries it if the error is retryable, else
 *           the shard is failed at once (shared/queue/job-outcome.ts) and counted in the run
 *   run     the run as a whole stops or cannot finish (`run`, `submit --wait`)
 *   command a command refuses to start or stops; it prints the code and exits 1 (bin/cli.ts)
 */
export type ErrorScope = 'image' | 'shard' | 'run' | 'command';

/**
 * One code's documentation, one row of README's table. `retryable` is the flag the error
 * carries (whether trying the same thing again, unchanged, can help; it decides whether BullMQ
 * retries a shard): true, false, or 'varies' when the code is raised with either (the meaning
 * says which). `fix` is what the user does about it.
 */
export interface ErrorCodeDoc {
  readonly meaning: string;
  readonly retryable: boolean | 'varies';
  readonly arises: readonly ErrorScope[];
  readonly fix: string;
}

/** Each code the project raises, keyed by the code itself: `{ CODE: ErrorCodeDoc }`, as data. */
export const ERROR_CODES = {
  CONFIG: {
    meaning: 'A flag, environment variable, input list, run id or file is invalid or contradicts the run as submitted.',
    retryable: false,
    arises: ['command', 'shard'],
    fix: 'Read the message: it names the setting, what was expected and what was received. Fix it and run again.',
  },
  MODEL: {
    meaning: 'The model artifact is missing, corrupt, or not the shape the engine expects (inputs, outputs, labels).',
    retryable: false,
    arises: ['command', 'shard'],
    fix: 'Check --model; `npm run fetch-model` (or `resnet-batch calibrate` for int8) lays out a complete artifact.',
  },
  MODEL_MISMATCH: {
    meaning:
      'The worker loaded another model or precision than the run was submitted with, or the weights changed since.',
    retryable: false,
    arises: ['shard'],
    fix: "Start workers with the run's --model and --precision; restore changed weights or submit under a new run id.",
  },
  ENGINE_UNAVAILABLE: {
    meaning: 'The engine asked for is not installed or cannot start on this host.',
    retryable: false,
    arises: ['command'],
    fix: 'Pick another --engine, or install what the message names.',
  },
  ENGINE_THREAD: {
    meaning: 'The thread that runs the engine failed or exited (out of memory, a native crash).',
    retryable: true,
    arises: ['shard'],
    fix: 'Nothing if it passes; the shard is retried. If it repeats, give the worker more memory or a smaller --batch-size.',
  },
  ENGINE_DISPOSED: {
    meaning: 'A batch reached an engine that was already closed, as a worker shut down.',
    retryable: false,
    arises: ['shard'],
    fix: 'Run `resnet-batch retry <run>` for the failed shards; report it as a bug if it happens outside a shutdown.',
  },
  BAD_BATCH: {
    meaning: 'An engine was handed pixels that do not match the batch size and input size: a bug, not bad input.',
    retryable: false,
    arises: ['shard'],
    fix: 'Report it as a bug with the message; `resnet-batch retry <run>` once fixed.',
  },
  STORAGE: {
    meaning:
      'Object storage failed: retryable for network errors, 5xx and throttling; not for a missing bucket, refused access or bad credentials.',
    retryable: 'varies',
    arises: ['shard', 'command'],
    fix: 'Retryable ones pass by themselves; check the endpoint if they persist. Otherwise fix the URI, bucket, credentials or policy.',
  },
  PRECONDITION_FAILED: {
    meaning: 'A write that must not replace an object (a commit marker, a run definition) found it already there.',
    retryable: false,
    arises: ['shard', 'command'],
    fix: 'Usually handled: the writer reads what is there. If shown, another process committed first; check the run id.',
  },
  INVALID_JOB: {
    meaning: "A shard job's payload fails the schema: written by another version of resnet-batch, or not by it at all.",
    retryable: false,
    arises: ['shard'],
    fix: 'Run workers of the same version as the submitter; drain or remove jobs from other versions.',
  },
  LOCK_LOST: {
    meaning: 'The worker lost its hold on a shard (paused or cut off longer than SHARD_LOCK_MS); its work is dropped.',
    retryable: true,
    arises: ['shard'],
    fix: 'Nothing: another attempt takes the shard. If it repeats, raise SHARD_LOCK_MS or give workers more CPU.',
  },
  SHARD_CONFLICT: {
    meaning: "The shard is already committed on storage for other inputs than this job names: the run's input changed.",
    retryable: false,
    arises: ['shard'],
    fix: 'Start a new run id for the new input.',
  },
  REDIS_UNREACHABLE: {
    meaning: 'Redis did not answer for REDIS_UNREACHABLE_MS; the worker stops so that its supervisor restarts it.',
    retryable: true,
    arises: ['command', 'run'],
    fix: 'Check that Redis runs and REDIS_URL points at it, or raise REDIS_UNREACHABLE_MS (0 waits for ever).',
  },
  WORKERS_EXITED: {
    meaning: 'Every local worker of `resnet-batch run` exited before the run finished.',
    retryable: false,
    arises: ['run'],
    fix: "Read the workers' errors printed above it, fix the cause and run the same command again; it resumes.",
  },
  RUN_MISSING: {
    meaning: "The run's record disappeared from Redis while it was being waited on.",
    retryable: false,
    arises: ['run'],
    fix: 'Turn on Redis persistence; submit the run again (committed shards are kept).',
  },
  FINALIZE_FAILED: {
    meaning: "Every shard is accounted for, but writing the run's manifest failed for good.",
    retryable: false,
    arises: ['run'],
    fix: 'Fix the cause in the message, then `resnet-batch retry <run>` or run the command again.',
  },
  NOT_FOUND: {
    meaning: 'The object was listed but is gone, or its bucket does not exist.',
    retryable: false,
    arises: ['image', 'command'],
    fix: 'Check the URI; an image deleted after listing stays an error row of this run.',
  },
  NOT_A_FILE: {
    meaning: 'A FIFO, socket, device or directory is named like an image; only plain files are read.',
    retryable: false,
    arises: ['image', 'command'],
    fix: 'Remove it from the input, or point at the file itself.',
  },
  FORBIDDEN: {
    meaning: 'The store refused to read the image (permissions, bucket policy).',
    retryable: false,
    arises: ['image'],
    fix: 'Grant the workers read access to it.',
  },
  TIMEOUT: {
    meaning:
      'The image did not arrive in time (FETCH_TIMEOUT_MS; for http(s), HTTP_TIMEOUT_MS or HTTP_CONNECT_TIMEOUT_MS).',
    retryable: false,
    arises: ['image'],
    fix: 'Raise the timeout if the store is slow, then submit the input again under a new run id.',
  },
  EMPTY: {
    meaning: 'The image has zero bytes.',
    retryable: false,
    arises: ['image'],
    fix: 'Check that the upload or copy finished.',
  },
  TOO_LARGE: {
    meaning: 'The image is over the byte limit.',
    retryable: false,
    arises: ['image', 'command'],
    fix: 'Raise MAX_IMAGE_BYTES to accept it.',
  },
  TOO_MANY_PIXELS: {
    meaning: 'The image is over the pixel limit (the decompression bomb guard).',
    retryable: false,
    arises: ['image'],
    fix: 'Downscale it, or raise MAX_IMAGE_PIXELS.',
  },
  UNSUPPORTED_FORMAT: {
    meaning: 'Not an image format that is decoded, or a refused one (SVG).',
    retryable: false,
    arises: ['image'],
    fix: 'Convert it to PNG or JPEG.',
  },
  DECODE_FAILED: {
    meaning: 'A known format whose bytes are broken (truncated, bad CRC), or decoding took too long.',
    retryable: false,
    arises: ['image'],
    fix: 'Replace the file with a complete one.',
  },
  BLOCKED_ADDRESS: {
    meaning: 'An http(s) host resolves to a loopback, private or link-local address not in HTTP_ALLOWED_HOSTS.',
    retryable: false,
    arises: ['image'],
    fix: 'Add host:port to HTTP_ALLOWED_HOSTS if it is meant to be fetched.',
  },
  OPTED_OUT: {
    meaning: 'The response carries X-Robots-Tag noai or noimageai, and HTTP_RESPECT_OPT_OUT is on.',
    retryable: false,
    arises: ['image'],
    fix: "Leave it out; set HTTP_RESPECT_OPT_OUT=false only with the owner's permission.",
  },
  TOO_MANY_REDIRECTS: {
    meaning: 'More than HTTP_MAX_REDIRECTS redirects, or a redirect to something that is not an http(s) URL.',
    retryable: false,
    arises: ['image'],
    fix: 'Raise HTTP_MAX_REDIRECTS if the chain is expected; else list the final URL.',
  },
  UNREACHABLE: {
    meaning: 'The host name does not resolve, or no connection could be made, after HTTP_ATTEMPTS tries.',
    retryable: false,
    arises: ['image'],
    fix: 'Check the URL and the network from the worker.',
  },
  UNEXPECTED: {
    meaning:
      'A shard failed with an error that is not one of these codes (a bug or a library failure); a metrics label.',
    retryable: true,
    arises: ['shard'],
    fix: "Read the worker's log for the stack; BullMQ retries the shard. Report it if it repeats.",
  },
  UNKNOWN: {
    meaning: 'An error reported with no code: a row whose message starts with none (written by another tool); a label.',
    retryable: false,
    arises: ['image', 'shard'],
    fix: "Read the row's error column.",
  },
} as const satisfies Record<string, ErrorCodeDoc>;

/** HTTP_404, HTTP_403, HTTP_503...: the status an http(s) server answered with, after any retries. */
export type HttpStatusCode = `HTTP_${number}`;

/** The row for every HTTP_<status> code: a family, so it is not a key of ERROR_CODES. */
export const HTTP_STATUS_CODE_DOC = {
  meaning: 'An http(s) server answered with this status; 429 and most 5xx were retried first (HTTP_ATTEMPTS).',
  retryable: false,
  arises: ['image'],
  fix: 'Read the status: 404 the URL is gone, 403 access is refused, 5xx the server failed.',
} as const satisfies ErrorCodeDoc;

export type ErrorCode = keyof typeof ERROR_CODES | HttpStatusCode;

/** README's error table, one row per code in order; HTTP_<status> last. */
export const ERROR_CODE_ROWS: readonly ({ code: string } & ErrorCodeDoc)[] = [
  ...Object.entries(ERROR_CODES).map(([code, doc]) => ({ code, ...doc })),
  { code: 'HTTP_<status>', ...HTTP_STATUS_CODE_DOC },
];

/** The codes of an image's own failures: each becomes an error row, never a failed shard. */
export const IMAGE_ERROR_CODES = [
  'NOT_FOUND',
  'NOT_A_FILE',
  'FORBIDDEN',
  'TIMEOUT',
  'EMPTY',
  'TOO_LARGE',
  'TOO_MANY_PIXELS',
  'UNSUPPORTED_FORMAT',
  'DECODE_FAILED',
  // http(s) inputs (shared/storage/http/http-fetch.ts); an HTTP status the server answered is HTTP_<status>
  'BLOCKED_ADDRESS',
  'OPTED_OUT',
  'TOO_MANY_REDIRECTS',
  'UNREACHABLE',
] as const satisfies readonly (keyof typeof ERROR_CODES)[];

export type ImageErrorCode = (typeof IMAGE_ERROR_CODES)[number] | HttpStatusCode;

const IMAGE_CODES: ReadonlySet<string> = new Set(IMAGE_ERROR_CODES);

/** True for the code of an image's own failure (one of IMAGE_ERROR_CODES, or HTTP_<status>). */
export function isImageErrorCode(code: string): code is ImageErrorCode {
  return IMAGE_CODES.has(code) || /^HTTP_[1-5][0-9]{2}$/.test(code);
}
