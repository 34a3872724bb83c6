import type { ObjectStore } from './object-store.ts';
import { type StorageConfig, storageConfigFromEnv } from './storage-config.ts';
import { storeSchemeOf } from './uri.ts';

/**
 * Opens the store for a URI's scheme (store-registry.ts): s3:// -> S3Store, file:// and plain
 * paths -> LocalStore. Stores are cheap: open one where needed and close it; S3 stores of one
 * endpoint share a client (s3-client.ts leaseS3Client).
 *
 * `config` defaults to storageConfigFromEnv(process.env), read on each call.
 */
export function openStore(uri: string, config: StorageConfig = storageConfigFromEnv()): ObjectStore {
  return storeSchemeOf(uri).open(config);
}
