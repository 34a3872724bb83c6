// Behaviour specific to S3Store: how failures map to retryable or permanent errors.
// The shared behaviour is in storage-contract.test.ts.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ObjectNotFoundError, StorageError } from '../../shared/errors.ts';
import { freePort } from '../../shared/free-port.ts';
import { createS3Client } from '../../shared/storage/s3/s3-client.ts';
import { S3Store } from '../../shared/storage/s3/s3-store.ts';
import { storageConfigFromEnv } from '../../shared/storage/storage-config.ts';
import { newBucket, s3Env, useS3 } from '../harness/s3-server.ts';

/** A store on `env`, with one attempt and short timeouts so failures show at once. */
function storeFor(env: Record<string, string>): S3Store {
  const config = storageConfigFromEnv(env).s3;
  return new S3Store(createS3Client(config, { maxAttempts: 1, connectionTimeoutMs: 1_000, requestTimeoutMs: 5_000 }), {
    endpointLabel: config.endpoint,
  });
}

function isStorageError(retryable: boolean, pattern: RegExp) {
  return (error: unknown) =>
    error instanceof StorageError && error.retryable === retryable && pattern.test(error.message);
}

describe('S3Store failures', () => {
  const s3 = useS3();
  let bucket: string;
  before(async () => {
    bucket = await newBucket(s3);
  });

  test('an unreachable endpoint is a retryable StorageError naming the uri and the endpoint', async (t) => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const store = storeFor({ ...s3Env(s3), S3_ENDPOINT: endpoint });
    t.after(() => store.close());
    await assert.rejects(
      store.read(`s3://${bucket}/a.jpg`),
      isStorageError(true, new RegExp(`s3://${bucket}/a\\.jpg at ${endpoint}`)),
    );
  });

  test('a missing bucket is a StorageError that is not retried', async (t) => {
    const store = storeFor(s3Env(s3));
    t.after(() => store.close());
    await assert.rejects(
      store.write('s3://no-such-bucket-here/a.npy', 'x'),
      isStorageError(false, /bucket does not exist/),
    );
  });

  test('unknown credentials are a StorageError that is not retried', async (t) => {
    const store = storeFor({ ...s3Env(s3), AWS_ACCESS_KEY_ID: 'WRONG', AWS_SECRET_ACCESS_KEY: 'WRONG' });
    t.after(() => store.close());
    await assert.rejects(store.read(`s3://${bucket}/a.jpg`), isStorageError(false, /check the credentials/));
  });

  test('a storage outage fails with a retryable error and the same call succeeds once the server is back', async (t) => {
    const store = storeFor(s3Env(s3));
    t.after(() => store.close());
    const uri = `s3://${bucket}/outage/part-00000.npy`;
    await s3.kill();
    await assert.rejects(store.write(uri, 'rows'), isStorageError(true, /could not reach the endpoint/));
    await s3.restart();
    const revived = storeFor(s3Env(s3));
    t.after(() => revived.close());
    await revived.write(uri, 'rows');
    assert.equal((await revived.read(uri)).toString(), 'rows');
  });

  test('a missing key in an existing bucket is ObjectNotFoundError, not a StorageError', async (t) => {
    const store = storeFor(s3Env(s3));
    t.after(() => store.close());
    await assert.rejects(store.read(`s3://${bucket}/nope.jpg`), ObjectNotFoundError);
  });
});
