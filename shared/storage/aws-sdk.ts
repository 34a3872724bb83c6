import { createRequire } from 'node:module';

/**
 * The AWS SDK, loaded on first use. Importing it costs about 250 ms of start-up (hundreds of
 * modules), and every URI parser reaches this folder (uri.ts -> store-registry.ts -> s3-store.ts),
 * so a run on local folders paid it without one S3 call (issue 12: start-up under 2 s). The SDK
 * packages are CommonJS (no "exports" map), so `require` here returns the very module an ESM
 * `import` elsewhere gets, and the first S3 call can load it synchronously.
 */
const require = createRequire(import.meta.url);

type ClientS3 = typeof import('@aws-sdk/client-s3');
type LibStorage = typeof import('@aws-sdk/lib-storage');

let clientS3: ClientS3 | undefined;
let libStorage: LibStorage | undefined;

/** @aws-sdk/client-s3: the client, the commands, the paginators. */
export function s3Sdk(): ClientS3 {
  clientS3 ??= require('@aws-sdk/client-s3') as ClientS3;
  return clientS3;
}

/** @aws-sdk/lib-storage: multipart uploads. */
export function s3Uploads(): LibStorage {
  libStorage ??= require('@aws-sdk/lib-storage') as LibStorage;
  return libStorage;
}
