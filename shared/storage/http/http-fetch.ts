import { STATUS_CODES } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { ImageError, ObjectTooLargeError } from '../../errors.ts';
import type { HostLimiter } from './host-limiter.ts';
import { type HttpConfig, MAX_RETRY_AFTER_SECONDS } from './http-config.ts';
import { optOutDirective } from './robots-tag.ts';
import { undici } from './undici.ts';

/**
 * One image from the web: a GET with the project's User-Agent, through the guarded connection
 * (http-connector.ts), with
 *   - redirects followed by hand, at most HTTP_MAX_REDIRECTS, each hop a new request whose
 *     connection is checked again, and only to http(s) URLs;
 *   - per attempt, one clock from the request to the last body byte (HTTP_TIMEOUT_MS), started
 *     once the host's concurrency slot is held (host-limiter.ts);
 *   - the size limit checked on Content-Length before any body byte, then again while streaming,
 *     so a server that lies or sends no length costs at most maxBytes of memory;
 *   - retries with exponential backoff (1 s, 2 s, 4 s...) on 429, 5xx and dropped or refused
 *     connections, waiting what Retry-After asks when it asks (up to MAX_RETRY_AFTER_SECONDS).
 *     Timeouts are not retried: the attempt already waited its full time.
 * Every failure is the image's own error row: HTTP_<status>, TIMEOUT, TOO_LARGE, BLOCKED_ADDRESS,
 * UNREACHABLE, TOO_MANY_REDIRECTS, OPTED_OUT. None fails the shard: a dead link in a web list is
 * data, not an outage.
 */
export interface HttpClient {
  dispatcher: Dispatcher;
  limiter: HostLimiter;
  config: HttpConfig;
}

export interface HttpImage {
  body: Buffer;
  /** The response's ETag, else its Last-Modified, else '' (the row's etag, compared by --since). */
  etag: string;
}

/** First wait between attempts; doubles each attempt. */
const BACKOFF_MS = 1000;
/** Longest etag kept: the job schema's bound on ETags. */
const MAX_ETAG_LENGTH = 256;

export async function fetchHttpImage(
  uri: string,
  maxBytes: number | undefined,
  client: HttpClient,
): Promise<HttpImage> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await followRedirects(uri, maxBytes, client);
    } catch (error) {
      const failure = classify(error, uri);
      const wait = failure.retryAfterMs ?? BACKOFF_MS * 2 ** (attempt - 1);
      if (!failure.retryable || attempt >= client.config.attempts) throw failure.error;
      await sleep(wait);
    }
  }
}

async function followRedirects(uri: string, maxBytes: number | undefined, client: HttpClient): Promise<HttpImage> {
  let url = new URL(uri);
  for (let hop = 0; ; hop += 1) {
    const current = url;
    const outcome = await client.limiter.run(current.host, () => requestOnce(current, maxBytes, client));
    if ('body' in outcome) return outcome;
    if (hop >= client.config.maxRedirects) {
      throw new ImageError(
        'TOO_MANY_REDIRECTS',
        `${uri} redirects more than ${client.config.maxRedirects} times (last to ${outcome.location}); raise HTTP_MAX_REDIRECTS if that is expected`,
      );
    }
    url = outcome.location;
  }
}

/** One request: the image, or where it redirects to. Throws for every other answer. */
async function requestOnce(
  url: URL,
  maxBytes: number | undefined,
  client: HttpClient,
): Promise<HttpImage | { location: URL }> {
  const { config } = client;
  const signal = AbortSignal.timeout(config.timeoutMs);
  const response = await undici().request(url, {
    dispatcher: client.dispatcher,
    method: 'GET',
    headers: { 'user-agent': config.userAgent, accept: 'image/*,*/*;q=0.8' },
    signal,
  });
  const { statusCode, headers, body } = response;
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  if (statusCode >= 300 && statusCode < 400 && header('location') !== undefined) {
    await discard(body);
    return { location: redirectTarget(url, header('location')!) };
  }
  if (statusCode < 200 || statusCode >= 300) {
    await discard(body);
    throw new HttpStatusError(url, statusCode, header('retry-after'));
  }
  const directive = config.respectOptOut ? optOutDirective(headers['x-robots-tag']) : null;
  if (directive !== null) {
    await discard(body);
    throw new ImageError(
      'OPTED_OUT',
      `${url.href} answered with X-Robots-Tag ${directive}: its owner opted out of AI use; set HTTP_RESPECT_OPT_OUT=false only if you have their permission`,
    );
  }
  const declared = Number(header('content-length') ?? Number.NaN);
  if (maxBytes !== undefined && declared > maxBytes) {
    await discard(body);
    throw new ObjectTooLargeError(url.href, declared, maxBytes);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).length;
    if (maxBytes !== undefined && total > maxBytes) {
      await discard(body);
      throw new ObjectTooLargeError(url.href, total, maxBytes);
    }
    chunks.push(chunk as Buffer);
  }
  const etag = (header('etag') ?? header('last-modified') ?? '').replace(/^"(.*)"$/, '$1');
  return { body: Buffer.concat(chunks, total), etag: etag.slice(0, MAX_ETAG_LENGTH) };
}

/**
 * Drops a body nobody wants: a small one (an error page) is read to its end so the connection can
 * be reused, a larger one closes it. Never throws: the answer that mattered was already taken.
 */
async function discard(body: Dispatcher.ResponseData['body']): Promise<void> {
  await body.dump({ limit: 64 * 1024 }).catch(() => undefined);
}

function redirectTarget(from: URL, location: string): URL {
  let target: URL;
  try {
    target = new URL(location, from);
  } catch {
    throw new ImageError('TOO_MANY_REDIRECTS', `${from.href} redirects to '${location}', which is not a URL`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new ImageError(
      'TOO_MANY_REDIRECTS',
      `${from.href} redirects to ${target.protocol} URL ${target.href}; only http(s) redirects are followed`,
    );
  }
  return target;
}

/** A non-2xx answer, before the retry decision turns it into the image's HTTP_<status> error. */
class HttpStatusError extends Error {
  constructor(
    readonly url: URL,
    readonly status: number,
    readonly retryAfter: string | undefined,
  ) {
    super(`${url.href} answered ${status} ${STATUS_CODES[status] ?? ''}`.trim());
  }
}

interface Failure {
  error: Error;
  retryable: boolean;
  retryAfterMs?: number;
}

/** Network error codes that a new connection may not meet again. */
const TRANSIENT = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** What went wrong, as the image's error, and whether another attempt may help. */
function classify(error: unknown, uri: string): Failure {
  if (error instanceof HttpStatusError) return statusFailure(error);
  const own = findInChain(error, (link) => link instanceof ImageError || link instanceof ObjectTooLargeError);
  if (own !== undefined) {
    const code = codeInChain(own);
    return { error: own, retryable: own instanceof ImageError && own.code === 'UNREACHABLE' && code === 'EAI_AGAIN' };
  }
  const name = (error as Error)?.name;
  const code = codeInChain(error);
  if (name === 'TimeoutError' || name === 'AbortError' || (code !== undefined && TIMEOUTS.has(code))) {
    return {
      error: new ImageError(
        'TIMEOUT',
        `${uri} did not arrive within the time allowed (${code ?? name}); raise HTTP_TIMEOUT_MS or HTTP_CONNECT_TIMEOUT_MS if the host is slow`,
        { cause: error },
      ),
      retryable: code === 'UND_ERR_CONNECT_TIMEOUT',
    };
  }
  return {
    error: new ImageError('UNREACHABLE', `${uri} could not be fetched (${code ?? name ?? String(error)})`, {
      cause: error,
    }),
    retryable: code === undefined || TRANSIENT.has(code),
  };
}

function statusFailure(error: HttpStatusError): Failure {
  const retryable = error.status === 429 || (error.status >= 500 && error.status !== 501 && error.status !== 505);
  const retryAfterMs = retryable ? retryAfterOf(error.retryAfter) : undefined;
  const tooLong = retryAfterMs !== undefined && retryAfterMs > MAX_RETRY_AFTER_SECONDS * 1000;
  const reason = tooLong
    ? `${error.message}, asking to retry after ${Math.round(retryAfterMs / 1000)} s (more than the ${MAX_RETRY_AFTER_SECONDS} s waited)`
    : error.message;
  return {
    error: new ImageError(`HTTP_${error.status}`, reason),
    retryable: retryable && !tooLong,
    ...(retryAfterMs === undefined || tooLong ? {} : { retryAfterMs }),
  };
}

/** Retry-After as ms: delta-seconds or an HTTP date (RFC 9110 10.2.3); undefined when absent or unreadable. */
function retryAfterOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function findInChain(error: unknown, test: (link: unknown) => boolean): Error | undefined {
  for (let link = error, depth = 0; link !== undefined && link !== null && depth < 8; depth += 1) {
    if (test(link)) return link as Error;
    link = (link as { cause?: unknown }).cause;
  }
  return undefined;
}

function codeInChain(error: unknown): string | undefined {
  const found = findInChain(error, (link) => typeof (link as { code?: unknown }).code === 'string');
  const code = (found as { code?: string } | undefined)?.code;
  // Our own errors carry a code too; the network's is the one below them.
  if (found instanceof ImageError) return codeInChain(found.cause);
  return code;
}
