import { z } from 'zod';
import { ConfigError } from '../../errors.ts';
import { PROJECT_VERSION } from '../../source-location.ts';

/**
 * How the workers fetch http(s) image URLs (shared/storage/http/http-store.ts), from the environment.
 * Read with the other storage settings (storage-config.ts), because stores are what need them.
 * Each variable is documented at its schema entry below, with its default.
 */
export interface HttpConfig {
  /** Lower-case `host` and `host:port` entries of HTTP_ALLOWED_HOSTS. */
  allowedHosts: readonly string[];
  connectTimeoutMs: number;
  /** One attempt, request to last body byte; past it the image is a TIMEOUT row (timeouts are not retried). */
  timeoutMs: number;
  /** Attempts per URL, including the first. Retried: 429, 5xx, connection reset or refused. */
  attempts: number;
  maxRedirects: number;
  perHostConcurrency: number;
  respectOptOut: boolean;
  /** Sent with every request, so site owners can tell who fetches and block or allow it. */
  userAgent: string;
}

/** The longest Retry-After honoured, in seconds; a server asking for more makes the image an error row at once. */
export const MAX_RETRY_AFTER_SECONDS = 60;

/** The User-Agent: the project and its version, and the token X-Robots-Tag directives may address. */
export const USER_AGENT = `resnet-batch/${PROJECT_VERSION} (batch image inference; X-Robots-Tag token: resnet-batch)`;

const nonEmpty = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));
const whole = (min: number, max: number) =>
  nonEmpty.pipe(z.coerce.number<string | undefined>().int().min(min).max(max).optional());

const envSchema = z.object({
  /**
   * HTTP_ALLOWED_HOSTS: comma-separated `host` or `host:port` (IPv6 in brackets) whose images are
   * fetched even from a loopback, private, link-local, unique-local or multicast address: an
   * image server on your own network. Default unset: only public addresses.
   */
  HTTP_ALLOWED_HOSTS: nonEmpty,
  /** HTTP_CONNECT_TIMEOUT_MS: ms to resolve the name and open the TCP (and TLS) connection. Default 10000. */
  HTTP_CONNECT_TIMEOUT_MS: whole(100, 600_000),
  /**
   * HTTP_TIMEOUT_MS: ms for one attempt, from the request to the last byte of the body; past it
   * the image is a TIMEOUT row (not retried). Default 30000. Raise it for slow servers of large images.
   */
  HTTP_TIMEOUT_MS: whole(100, 3_600_000),
  /**
   * HTTP_ATTEMPTS: attempts per URL on 429, 5xx and dropped connections (1 = no retry), with
   * backoff 1 s, 2 s... and Retry-After honoured up to 60 s. Default 3.
   */
  HTTP_ATTEMPTS: whole(1, 20),
  /** HTTP_MAX_REDIRECTS: redirects followed per URL, each hop checked like the first. Default 5. */
  HTTP_MAX_REDIRECTS: whole(0, 20),
  /**
   * HTTP_PER_HOST_CONCURRENCY: requests one worker process has open to one host at once. Default
   * 8. Lower it for a small server you do not want to load.
   */
  HTTP_PER_HOST_CONCURRENCY: whole(1, 1024),
  /**
   * HTTP_RESPECT_OPT_OUT: true or false. Default true: an image whose response says X-Robots-Tag
   * noai or noimageai is an OPTED_OUT row. false only with the owners' permission.
   */
  HTTP_RESPECT_OPT_OUT: nonEmpty.pipe(z.enum(['true', 'false', '1', '0']).optional()),
});

const FIXES: Record<string, string> = {
  HTTP_ALLOWED_HOSTS: 'set it like images.internal,127.0.0.1:8080',
  HTTP_CONNECT_TIMEOUT_MS: 'set it to a whole number of milliseconds from 100 to 600000, or unset it',
  HTTP_TIMEOUT_MS: 'set it to a whole number of milliseconds from 100 to 3600000, or unset it',
  HTTP_ATTEMPTS: 'set it to a whole number from 1 (no retry) to 20, or unset it',
  HTTP_MAX_REDIRECTS: 'set it to a whole number from 0 to 20, or unset it',
  HTTP_PER_HOST_CONCURRENCY: 'set it to a whole number from 1 to 1024, or unset it',
  HTTP_RESPECT_OPT_OUT: 'set it to true or false',
};

export function httpConfigFromEnv(env: Record<string, string | undefined>): HttpConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const name = String(parsed.error.issues[0]?.path[0] ?? 'HTTP variable');
    throw new ConfigError(`${name} is not valid (got '${env[name] ?? ''}'); ${FIXES[name] ?? 'fix or unset it'}`);
  }
  const vars = parsed.data;
  return {
    allowedHosts: parseAllowedHosts(vars.HTTP_ALLOWED_HOSTS),
    connectTimeoutMs: vars.HTTP_CONNECT_TIMEOUT_MS ?? 10_000,
    timeoutMs: vars.HTTP_TIMEOUT_MS ?? 30_000,
    attempts: vars.HTTP_ATTEMPTS ?? 3,
    maxRedirects: vars.HTTP_MAX_REDIRECTS ?? 5,
    perHostConcurrency: vars.HTTP_PER_HOST_CONCURRENCY ?? 8,
    respectOptOut: vars.HTTP_RESPECT_OPT_OUT === undefined || ['true', '1'].includes(vars.HTTP_RESPECT_OPT_OUT),
    userAgent: USER_AGENT,
  };
}

/** `a.example, 127.0.0.1:8080, [::1]:9000` -> lower-case entries; ConfigError naming a malformed one. */
function parseAllowedHosts(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => entry !== '')
    .map((entry) => {
      if (!/^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(:[0-9]{1,5})?$/.test(entry)) {
        throw new ConfigError(
          `HTTP_ALLOWED_HOSTS entry '${entry}' is not a host or host:port; ${FIXES.HTTP_ALLOWED_HOSTS} (IPv6 in brackets: [::1]:8080)`,
        );
      }
      return entry;
    });
}

/** True when `hostname` (lower case; IPv6 in brackets) alone or with `port` is listed in HTTP_ALLOWED_HOSTS. */
export function isAllowedHost(config: HttpConfig, hostname: string, port: number): boolean {
  return config.allowedHosts.includes(hostname) || config.allowedHosts.includes(`${hostname}:${port}`);
}
