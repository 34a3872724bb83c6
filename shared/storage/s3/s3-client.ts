import type { S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '../storage-config.ts';
import { s3Sdk } from './aws-sdk.ts';

/**
 * Network behaviour of the S3 client. Every value is set explicitly rather than left to SDK
 * defaults, because the SDK's defaults have no timeouts at all: a black-holed endpoint would hang
 * a shard forever instead of failing it so BullMQ can retry.
 */
export interface S3ClientTuning {
  /**
   * Attempts per request, including the first (SDK "standard" retry mode: exponential backoff with
   * jitter, only for retryable failures: network errors, 5xx, throttling). Default 3. Shard-level
   * retries by BullMQ come on top of these, so keep it low; raise it for a flaky remote store.
   */
  maxAttempts: number;
  /** Milliseconds to establish the TCP (and TLS) connection. Default 5000. */
  connectionTimeoutMs: number;
  /**
   * Milliseconds from sending a request until the response headers arrive, including uploading
   * the body (one multipart part, 8 MiB by default). Default 120000: an 8 MiB part at ~0.5 Mbit/s.
   * Lower it on a fast network to fail faster.
   */
  requestTimeoutMs: number;
  /**
   * Milliseconds a socket may sit idle (no bytes either way), which also covers a response body
   * that stalls halfway through a streamed read. Default 30000.
   */
  socketIdleTimeoutMs: number;
  /** Concurrent sockets per client. Default 64: enough for fetch concurrency plus part uploads. */
  maxSockets: number;
}

export const defaultS3ClientTuning: S3ClientTuning = {
  maxAttempts: 3,
  connectionTimeoutMs: 5_000,
  requestTimeoutMs: 120_000,
  socketIdleTimeoutMs: 30_000,
  maxSockets: 64,
};

/**
 * Builds a client for one endpoint. With no `credentials` in the config the SDK resolves them
 * from its default provider chain (see storage-config.ts); none are hand-rolled here.
 */
/**
 * The SDK prints a 9-line NodeVersionSupportWarning on Node < 22 when it builds a client's runtime
 * config, which lands before the first S3 error of every command and in test output. The project
 * supports Node >= 20.18.1 (package.json engines) and says in docs/OPERATIONS.md that Node 22 is
 * the LTS to move to, so the notice is turned off with the SDK's own switch (@aws-sdk/core
 * emitWarningIfUnsupportedVersion reads it). Setting the variable to anything but 'true' brings
 * the notice back.
 */
function silenceNodeVersionNotice(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

export function createS3Client(config: S3Config, tuning: Partial<S3ClientTuning> = {}): S3Client {
  silenceNodeVersionNotice();
  const t = { ...defaultS3ClientTuning, ...tuning };
  const agent = { keepAlive: true, maxSockets: t.maxSockets };
  const { S3Client } = s3Sdk();
  return new S3Client({
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
    maxAttempts: t.maxAttempts,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: t.connectionTimeoutMs,
      requestTimeout: t.requestTimeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: t.socketIdleTimeoutMs,
      httpAgent: agent,
      httpsAgent: agent,
    },
    // Since SDK 3.729 every upload carries a CRC32 checksum by default, sent as aws-chunked
    // trailers for streamed bodies; several S3-compatible servers (s3rver, older MinIO, Ceph)
    // reject or mis-store those. Against a custom endpoint only send checksums an operation
    // requires; against AWS keep the SDK's default integrity checks.
    ...(config.endpoint === undefined
      ? {}
      : { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const }),
  });
}

/**
 * A client shared by every store opened for the same endpoint, region, path style, access key and
 * request timeout: a client holds a keep-alive socket pool, and a worker opening a store per
 * image must not open a pool per image. Each lease holds one reference; the last release()
 * destroys the client.
 */
export function leaseS3Client(config: S3Config): { client: S3Client; release(): void } {
  const cacheKey = JSON.stringify([
    config.endpoint,
    config.region,
    config.forcePathStyle,
    config.credentials?.accessKeyId,
    config.requestTimeoutMs,
  ]);
  let shared = sharedClients.get(cacheKey);
  if (shared === undefined) {
    shared = {
      client: createS3Client(
        config,
        config.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: config.requestTimeoutMs },
      ),
      refs: 0,
    };
    sharedClients.set(cacheKey, shared);
  }
  shared.refs += 1;
  const lease = shared;
  let released = false;
  return {
    client: lease.client,
    release() {
      if (released) return;
      released = true;
      lease.refs -= 1;
      if (lease.refs === 0 && sharedClients.get(cacheKey) === lease) {
        sharedClients.delete(cacheKey);
        lease.client.destroy();
      }
    },
  };
}

const sharedClients = new Map<string, { client: S3Client; refs: number }>();
