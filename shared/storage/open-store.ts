import type { S3Client } from '@aws-sdk/client-s3';
import { parseUri } from './uri.ts';
import { LocalStore } from './local-store.ts';
import type { ObjectStore } from './object-store.ts';
import { createS3Client } from './s3-client.ts';
import { S3Store } from './s3-store.ts';
import { type StorageConfig, storageConfigFromEnv } from './storage-config.ts';

/**
 * Picks the store for a URI's scheme: s3:// -> S3Store, file:// and plain paths -> LocalStore.
 * Adding a store is one file plus one branch here.
 *
 * S3 clients are cached, one per (endpoint, region, path style, access key, request timeout), and shared by every
 * store opened for them: a client holds a keep-alive socket pool, and a worker opening a store per
 * image must not open a pool per image. Each returned store holds one reference; close() releases
 * it and the last release destroys the client. Stores are cheap: open one where needed and close it.
 *
 * `config` defaults to storageConfigFromEnv(process.env), read on each call.
 */
export function openStore(uri: string, config: StorageConfig = storageConfigFromEnv()): ObjectStore {
  const location = parseUri(uri);
  if (location.scheme === 'file') return new LocalStore();
  const cacheKey = JSON.stringify([config.s3.endpoint, config.s3.region, config.s3.forcePathStyle, config.s3.credentials?.accessKeyId, config.s3.requestTimeoutMs]);
  let shared = clients.get(cacheKey);
  if (shared === undefined) {
    shared = { client: createS3Client(config.s3, config.s3.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: config.s3.requestTimeoutMs }), refs: 0 };
    clients.set(cacheKey, shared);
  }
  shared.refs += 1;
  const lease = shared;
  return new S3Store(lease.client, {
    endpointLabel: config.s3.endpoint ?? `AWS S3 (${config.s3.region})`,
    release: () => {
      lease.refs -= 1;
      if (lease.refs === 0 && clients.get(cacheKey) === lease) {
        clients.delete(cacheKey);
        lease.client.destroy();
      }
    },
  });
}

const clients = new Map<string, { client: S3Client; refs: number }>();
