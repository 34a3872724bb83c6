import { loadOnFirstUse } from '../load-on-first-use.ts';

/** @aws-sdk/client-s3 (the client, the commands, the paginators), loaded on the first S3 call. */
export const s3Sdk = loadOnFirstUse<typeof import('@aws-sdk/client-s3')>('@aws-sdk/client-s3');

/** @aws-sdk/lib-storage (multipart uploads), loaded on the first upload. */
export const s3Uploads = loadOnFirstUse<typeof import('@aws-sdk/lib-storage')>('@aws-sdk/lib-storage');
