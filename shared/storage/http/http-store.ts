import type { Readable } from 'node:stream';
import { StorageError } from '../../errors.ts';
import type { ObjectInfo, ObjectRead, ObjectStore } from '../object-store.ts';
import type { StorageConfig } from '../storage-config.ts';
import type { StoreScheme } from '../store-scheme.ts';
import { HostLimiter } from './host-limiter.ts';
import type { HttpConfig } from './http-config.ts';
import { guardedConnector } from './http-connector.ts';
import { fetchHttpImage, type HttpClient } from './http-fetch.ts';
import { type HttpLocation, httpUriSyntax, parseHttpUri } from './http-uri.ts';
import { undici } from './undici.ts';

/**
 * Images on the web, read only: an http(s) URL names one image, fetched by http-fetch.ts through
 * the SSRF guard of http-connector.ts. A web server cannot be listed or written, so list(),
 * stat(), readStream() and write() are refused with what to do instead: name the URLs in a list
 * file (.txt, .jsonl, .csv, .parquet) and write the output to s3:// or a folder.
 *
 * Stores opened for the same settings share one client (a connection pool and the per-host
 * limits): the worker opens a store per image, and the limits must hold across images.
 */
export class HttpStore implements ObjectStore {
  /** Each request times out after HTTP_TIMEOUT_MS counted from when its host's slot is held. */
  readonly timesOwnReads = true;

  constructor(private readonly client: HttpClient) {}

  // biome-ignore lint/correctness/useYield: refuses before listing anything
  async *list(prefixUri: string): AsyncIterable<ObjectInfo[]> {
    throw notListable(prefixUri);
  }

  /** Refused like list(): a HEAD per URL at submit would cost as much as the fetch itself. */
  async stat(uri: string): Promise<ObjectInfo | null> {
    throw notListable(uri);
  }

  async read(uri: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
    return (await this.readObject(uri, options)).body;
  }

  async readObject(uri: string, options: { maxBytes?: number } = {}): Promise<ObjectRead> {
    const image = await fetchHttpImage(checkedUri(uri), options.maxBytes, this.client);
    return { body: image.body, info: { uri, size: image.body.length, etag: image.etag } };
  }

  async readStream(uri: string): Promise<Readable> {
    throw new StorageError(
      `${uri} is a web address; list files and models are read from s3:// or a local path, so download it there first`,
      { retryable: false },
    );
  }

  async write(uri: string): Promise<void> {
    throw new StorageError(`${uri} is a web address, which is read only; write the output to s3:// or a local folder`, {
      retryable: false,
    });
  }

  async delete(uri: string): Promise<void> {
    await this.write(uri);
  }

  async close(): Promise<void> {}
}

function notListable(uri: string): StorageError {
  return new StorageError(
    `${uri} is a web address, which cannot be listed or looked up; put the image URLs in a list file (.txt, .jsonl, .csv or .parquet) and submit that (lists, models and outputs live in s3:// or a local folder)`,
    { retryable: false },
  );
}

function checkedUri(uri: string): string {
  const scheme = uri.slice(0, uri.indexOf(':')).toLowerCase();
  try {
    parseHttpUri(uri, scheme === 'https' ? 'https' : 'http');
    return uri;
  } catch (error) {
    throw new StorageError(`HttpStore got '${uri}' (${(error as Error).message}); open stores with openStore`, {
      retryable: false,
    });
  }
}

/** One client per distinct setting, for the life of the process (see the class comment). */
const clients = new Map<string, HttpClient>();

export function sharedHttpClient(config: HttpConfig): HttpClient {
  const key = JSON.stringify(config);
  let client = clients.get(key);
  if (client === undefined) {
    client = {
      // Redirects are never followed by the agent: http-fetch.ts follows them, checking each hop.
      dispatcher: new (undici().Agent)({
        connect: guardedConnector(config),
        headersTimeout: config.timeoutMs,
        bodyTimeout: config.timeoutMs,
        connections: config.perHostConcurrency,
      }),
      limiter: new HostLimiter(config.perHostConcurrency),
      config,
    };
    clients.set(key, client);
  }
  return client;
}

function httpScheme(scheme: 'http' | 'https'): StoreScheme<HttpLocation> {
  return {
    ...httpUriSyntax(scheme),
    open: (config: StorageConfig) => new HttpStore(sharedHttpClient(config.http)),
  };
}

/** http:// and https:// image URLs in the store registry. */
export const httpsScheme = httpScheme('https');
export const plainHttpScheme = httpScheme('http');
