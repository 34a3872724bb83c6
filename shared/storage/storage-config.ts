import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { type HttpConfig, httpConfigFromEnv } from './http/http-config.ts';

/**
 * Storage settings, read from the environment by storageConfigFromEnv, apart from the pipeline's
 * shared/config.ts: stores are opened in many places (the producer, workers, the model loader,
 * tests with their own servers), and each passes this one small type to open-store.ts.
 *
 * Each variable is documented at its schema entry below (README's environment table is
 * generated from these comments).
 *
 * Credentials: when the env passed in holds AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY they are
 * used as given, which is exactly the first step of the AWS default chain, but works for an env
 * object that is not process.env (tests, spawned workers). Otherwise `credentials` stays
 * undefined and the SDK walks its default chain (env, SSO, shared ini files / AWS_PROFILE,
 * credential_process, web identity, ECS and EC2 instance metadata).
 *
 * The HTTP_* variables of http(s) image URLs are read by http-config.ts (documented there).
 */
export interface StorageConfig {
  s3: S3Config;
  http: HttpConfig;
}

export interface S3Config {
  /** Endpoint URL of an S3-compatible store; undefined means AWS S3 for `region`. */
  endpoint?: string;
  /** Address buckets as `endpoint/bucket/key` (MinIO, s3rver need it) instead of `bucket.endpoint/key`. */
  forcePathStyle: boolean;
  /** Signing region. Most S3-compatible stores accept any value; us-east-1 is the convention. */
  region: string;
  /** Static credentials; undefined means the AWS default provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** S3_REQUEST_TIMEOUT_MS, when set; the fault tests set it to a second. */
  requestTimeoutMs?: number;
}

const nonEmpty = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

/** A field without a comment of its own shares the comment of the field before it. */
const envSchema = z.object({
  /**
   * S3_ENDPOINT, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL: an S3-compatible endpoint
   * (MinIO, SeaweedFS, Ceph, R2, s3rver), http(s)://host:port; the compose file's SeaweedFS is
   * http://s3:8333. Default unset: AWS S3 in AWS_REGION.
   */
  S3_ENDPOINT: nonEmpty,
  AWS_ENDPOINT_URL_S3: nonEmpty,
  AWS_ENDPOINT_URL: nonEmpty,
  /**
   * S3_FORCE_PATH_STYLE: true or false: the bucket in the path (endpoint/bucket/key), not in the
   * host name. Default true when an endpoint is set (MinIO and s3rver need it), else false.
   */
  S3_FORCE_PATH_STYLE: nonEmpty.pipe(z.enum(['true', 'false', '1', '0']).optional()),
  /**
   * AWS_REGION, else AWS_DEFAULT_REGION: the region requests are signed for. Default us-east-1,
   * which most S3-compatible stores accept.
   */
  AWS_REGION: nonEmpty,
  AWS_DEFAULT_REGION: nonEmpty,
  /**
   * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN: static credentials. Default
   * unset: the AWS default chain (profile and SSO, web identity, ECS or EC2 instance role).
   */
  AWS_ACCESS_KEY_ID: nonEmpty,
  AWS_SECRET_ACCESS_KEY: nonEmpty,
  AWS_SESSION_TOKEN: nonEmpty,
  /**
   * S3_REQUEST_TIMEOUT_MS: ms from sending an S3 request (uploading its body included: one 8 MiB
   * multipart part) to its response headers. Default 120000 (s3-client.ts requestTimeoutMs: an
   * 8 MiB part at 0.5 Mbit/s). Lower it on a fast network so that a hung server fails sooner.
   */
  S3_REQUEST_TIMEOUT_MS: nonEmpty.pipe(
    z
      .string()
      .regex(/^[1-9][0-9]{0,8}$/)
      .optional(),
  ),
});

/** Reads and validates the storage variables above; throws ConfigError naming the variable and the fix. */
export function storageConfigFromEnv(env: Record<string, string | undefined> = process.env): StorageConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'storage variable');
    throw new ConfigError(`${name} is not valid (got '${env[name] ?? ''}'); ${fixFor(name)}`);
  }
  const vars = parsed.data;
  const endpointVar =
    vars.S3_ENDPOINT !== undefined
      ? 'S3_ENDPOINT'
      : vars.AWS_ENDPOINT_URL_S3 !== undefined
        ? 'AWS_ENDPOINT_URL_S3'
        : 'AWS_ENDPOINT_URL';
  const endpoint = vars.S3_ENDPOINT ?? vars.AWS_ENDPOINT_URL_S3 ?? vars.AWS_ENDPOINT_URL;
  if (endpoint !== undefined) checkEndpoint(endpointVar, endpoint);
  const pathStyle = vars.S3_FORCE_PATH_STYLE;
  const hasKeys = vars.AWS_ACCESS_KEY_ID !== undefined && vars.AWS_SECRET_ACCESS_KEY !== undefined;
  return {
    http: httpConfigFromEnv(env),
    s3: {
      ...(endpoint === undefined ? {} : { endpoint }),
      forcePathStyle: pathStyle === undefined ? endpoint !== undefined : pathStyle === 'true' || pathStyle === '1',
      region: vars.AWS_REGION ?? vars.AWS_DEFAULT_REGION ?? 'us-east-1',
      ...(vars.S3_REQUEST_TIMEOUT_MS === undefined ? {} : { requestTimeoutMs: Number(vars.S3_REQUEST_TIMEOUT_MS) }),
      ...(hasKeys
        ? {
            credentials: {
              accessKeyId: vars.AWS_ACCESS_KEY_ID!,
              secretAccessKey: vars.AWS_SECRET_ACCESS_KEY!,
              ...(vars.AWS_SESSION_TOKEN === undefined ? {} : { sessionToken: vars.AWS_SESSION_TOKEN }),
            },
          }
        : {}),
    },
  };
}

function checkEndpoint(name: string, endpoint: string): void {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError(`${name} is not an http:// or https:// URL (got '${endpoint}'); ${fixFor(name)}`);
  }
}

function fixFor(name: string): string {
  if (name === 'S3_FORCE_PATH_STYLE') return 'set it to true or false';
  if (name === 'S3_REQUEST_TIMEOUT_MS') return 'set it to a whole number of milliseconds like 120000, or unset it';
  if (name.includes('ENDPOINT')) return 'set it like http://localhost:9000 (MinIO) or leave it unset for AWS S3';
  return 'fix or unset it';
}
