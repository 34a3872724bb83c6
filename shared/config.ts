import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { ENGINE_CHOICES } from './inference/engine.ts';
import { DEFAULT_PRECISION, PRECISIONS } from './inference/precision.ts';
import { LOG_FORMATS, LOG_LEVELS } from './observability/log-format.ts';

/**
 * Pipeline configuration from the environment, validated once at start. Command-line flags
 * override these (see bin/cli.ts). Each field says its unit, default and when to change it.
 * Storage settings (S3 endpoint, path style, region, credentials) are read apart, by
 * shared/storage/storage-config.ts, because only the stores need them.
 */
const configSchema = z.object({
  /**
   * REDIS_URL: redis://[:password@]host:port[/db] or rediss:// for TLS. Unset: `run` starts its
   * own redis-server; `submit`, `worker` and `status` refuse to start.
   */
  REDIS_URL: z
    .string()
    .optional()
    .refine((value) => value === undefined || /^rediss?:\/\/[^\s]+$/.test(value), {
      message: 'is not a redis:// or rediss:// URL; set it like redis://localhost:6379',
    }),
  /**
   * QUEUE_PREFIX: prefix of every Redis key (BullMQ's and the run records). Default
   * 'resnet-batch'. Give each environment its own; on a Redis Cluster wrap it in a hash tag,
   * e.g. '{resnet-batch}', so that BullMQ's multi-key scripts stay in one slot.
   */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9{}._-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 { } . _ -')
    .default('resnet-batch'),
  /**
   * REDIS_UNREACHABLE_MS: how long, in ms, a worker keeps reconnecting to a Redis that does not
   * answer before it exits (code 1, one line saying so). Default 300000 (5 minutes): longer than a
   * Redis restart or a managed failover (seconds to a minute or two), short enough that a
   * supervisor (Kubernetes, compose, systemd) sees a crash loop instead of a worker that looks
   * healthy and does nothing. 0 never gives up. `resnet-batch run`
   * gives its own workers 15000 unless this is set: their Redis is the one it started, and when
   * that is gone the run is over. Raise it for Redis maintenance windows longer than 5 minutes.
   */
  REDIS_UNREACHABLE_MS: z.coerce.number().int().min(0).max(86_400_000).default(300_000),
  /**
   * LOG_FORMAT: 'auto' (default) writes readable lines when stderr is a terminal and JSON lines
   * otherwise; 'json' always JSON (a terminal you pipe through jq, a collector reading a pty);
   * 'pretty' always readable lines. Logs go to stderr either way (shared/observability/logger.ts).
   */
  LOG_FORMAT: z.enum(LOG_FORMATS).default('auto'),
  /**
   * LOG_LEVEL: the least severe log line written: trace, debug, info, warn, error, fatal or
   * silent. Default info; the workers `resnet-batch run` starts for itself default to warn, so
   * that its progress line is not buried. warn keeps only the problems; debug adds queue connection errors.
   */
  // Validated here at start; read by shared/observability/log-format.ts, which loads no zod.
  LOG_LEVEL: z.enum(LOG_LEVELS, { message: `is not one of ${LOG_LEVELS.join(', ')}; set it like info` }).optional(),
  /**
   * NO_COLOR: set to anything (no-color.org) to write readable log lines without colour. Default
   * unset: colour when stderr is a terminal.
   */
  NO_COLOR: z.string().optional(),
  /**
   * DEBUG: set to anything to print the stack trace under a command's one-line error (bin/cli.ts).
   * Default unset. For bug reports; `RESNET_BATCH_FROM_SOURCE=1` makes the trace name .ts lines.
   */
  DEBUG: z.string().optional(),
  /** JOB_ATTEMPTS: attempts per shard before it is marked failed (storage or Redis outages). Default 5. */
  JOB_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  /** JOB_BACKOFF_MS: first retry delay in ms; doubles each attempt (exponential). Default 2000. */
  JOB_BACKOFF_MS: z.coerce.number().int().min(0).max(3_600_000).default(2000),
  /**
   * SHARD_LOCK_MS: how long a worker's lock on a shard lasts without renewal, in ms. Default
   * 30000. A killed worker's shard goes back to the queue after this; raise it when one batch
   * can take longer than a third of it (the lock is renewed at half its duration).
   */
  SHARD_LOCK_MS: z.coerce.number().int().min(1000).max(3_600_000).default(30_000),
  /**
   * MAX_STALLED: times a shard may lose its worker (crash, kill) before it is failed as poison.
   * Default 10. Deaths are not attempts (JOB_ATTEMPTS counts the shard's own errors): 10 kill -9
   * of workers in a row must not fail a shard, while a shard that kills every worker costs at
   * most 11 worker restarts before it is failed. Lower it where restarts are expensive.
   */
  MAX_STALLED: z.coerce.number().int().min(0).max(100).default(10),
  /** MAX_IMAGE_BYTES: larger objects become TOO_LARGE error rows without being downloaded. Default 64 MiB. */
  MAX_IMAGE_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(64 * 1024 * 1024),
  /**
   * FETCH_TIMEOUT_MS: longest wait for one image's bytes, in ms, after which the image is a
   * TIMEOUT error row instead of a shard that hangs (a stuck NFS mount, a server that stalls
   * mid-body). Default 120000. S3 requests also have their own timeouts (S3_REQUEST_TIMEOUT_MS).
   */
  FETCH_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(120_000),
  /**
   * MAX_IMAGE_PIXELS: width x height above which an image is refused before decoding
   * (decompression bombs). Default 100,000,000 (a 10000x10000 image, about 300 MB decoded).
   */
  MAX_IMAGE_PIXELS: z.coerce.number().int().min(1).default(100_000_000),
  /** MODEL_URI: model location (path, file:// or s3://). Default: the local cache from `npm run fetch-model`. */
  MODEL_URI: z.string().min(1).optional(),
  /**
   * PRECISION: 'fp32' or 'int8' (shared/inference/precision.ts), the precision of runs submitted and of
   * workers started without --precision. Default 'fp32'. A worker runs shards of its own precision
   * only, so set it on the workers that serve int8 runs.
   */
  PRECISION: z.enum(PRECISIONS).default(DEFAULT_PRECISION),
  /**
   * ENGINE: the inference engine of `worker`, `run` and `classify` when --engine is not given:
   * 'auto' (the fastest this host runs) or one of shared/inference/engine.ts ENGINES ('onnx' is ONNX Runtime
   * on the CPU). Default auto.
   */
  ENGINE: z.enum(ENGINE_CHOICES).default('auto'),
  /** BATCH_SIZE: images per engine call. Default 32. */
  BATCH_SIZE: z.coerce.number().int().min(1).max(1024).default(32),
  /**
   * SHARDS_IN_FLIGHT: shards one worker process works on at once, sharing its engine. Default 2:
   * the next shard is fetched and decoded while the last one's final batch runs and its outputs
   * upload, so the engine does not wait at shard boundaries. 1 halves the decoded images in
   * memory, and a crash (poison shard) then loses only the shard that caused it.
   */
  SHARDS_IN_FLIGHT: z.coerce.number().int().min(1).max(8).default(2),
  /**
   * METRICS_PORT: TCP port of the worker's Prometheus /metrics (worker --metrics-port overrides).
   * Default 9464 (OpenTelemetry's Prometheus port). 0 turns the server off. When the port is
   * taken (several workers on one host), a worker serves on a free port instead and logs which;
   * give each worker its own port when a scraper needs fixed ones.
   */
  METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9464),
  /**
   * DASHBOARD_USER / DASHBOARD_PASSWORD: basic-auth credentials of `resnet-batch dashboard`. Set
   * both or neither. Required when the dashboard binds a non-loopback address; optional on
   * 127.0.0.1. Use a long random password: the dashboard can retry and delete jobs.
   */
  DASHBOARD_USER: z.string().min(1).optional(),
  DASHBOARD_PASSWORD: z.string().min(1).optional(),
  /**
   * OTEL_EXPORTER_OTLP_ENDPOINT: OTLP/HTTP collector base URL, e.g. http://otel-collector:4318.
   * When set, BullMQ job traces are exported there (shared/observability/telemetry.ts); unset, no tracing code
   * is loaded. The other OTEL_* variables (headers, resource attributes) are read by the SDK itself.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url({ protocol: /^https?$/, message: 'is not an http(s) URL; set it like http://otel-collector:4318' })
    .optional(),
  /**
   * OTEL_SERVICE_NAME: service.name of the traces. Default resnet-batch-worker for workers,
   * resnet-batch-producer for submit. Set it to tell environments or fleets apart in one collector.
   */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
});

export type PipelineConfig = z.infer<typeof configSchema>;

/** Validates the environment; every problem is named with its variable and how to fix it. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): PipelineConfig {
  // A variable set to the empty string (`REDIS_URL= resnet-batch run ...`) means unset.
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = configSchema.safeParse(set);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0]);
    return `${name} ${issue.message} (got '${redactUrl(String(env[name] ?? ''))}')`;
  });
  throw new ConfigError(problems.join('; '));
}

/**
 * One variable through its schema entry, apart from configFromEnv: undefined when unset or
 * invalid. For readers that run whether or not the whole configuration is valid (bin/cli.ts
 * prints a failed configFromEnv, with its stack when DEBUG is set).
 */
export function configValue<K extends keyof PipelineConfig>(
  name: K,
  env: NodeJS.ProcessEnv = process.env,
): PipelineConfig[K] | undefined {
  const value = env[name];
  const parsed = configSchema.shape[name].safeParse(value === '' ? undefined : value);
  return parsed.success ? (parsed.data as PipelineConfig[K]) : undefined;
}

/** The same URL with any password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** The queue every shard and finaliser job goes through. */
export const SHARD_QUEUE_NAME = 'shards';
