import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../shared/errors.ts';
import { LocalStore } from '../../shared/storage/local/local-store.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { S3Store } from '../../shared/storage/s3/s3-store.ts';
import { newBucket, s3StorageConfig, useS3 } from '../harness/s3-server.ts';
import { useTempDir } from '../harness/temp-dir.ts';

describe('openStore', () => {
  const s3 = useS3();
  const dir = useTempDir('resnet-batch-open-');
  test('plain paths and file URIs open the local store', () => {
    assert.ok(openStore('./images') instanceof LocalStore);
    assert.ok(openStore(`file://${dir.path}/x`) instanceof LocalStore);
  });

  test('s3 URIs open an S3 store that reaches the configured endpoint', async () => {
    const bucket = await newBucket(s3);
    const store = openStore(`s3://${bucket}/`, s3StorageConfig(s3));
    assert.ok(store instanceof S3Store);
    await store.write(`s3://${bucket}/hello.txt`, 'hi');
    assert.equal((await store.read(`s3://${bucket}/hello.txt`)).toString(), 'hi');
    await store.close();
  });

  test('stores for the same endpoint share one S3 client until the last one is closed', async () => {
    const config = s3StorageConfig(s3);
    const first = openStore('s3://bkt-a/', config) as S3Store;
    const second = openStore('s3://bkt-b/', config) as S3Store;
    assert.equal(first.client, second.client);
    await first.close();
    await first.close();
    const third = openStore('s3://bkt-c/', config) as S3Store;
    assert.equal(third.client, first.client);
    await second.close();
    await third.close();
    const fresh = openStore('s3://bkt-a/', config) as S3Store;
    assert.notEqual(fresh.client, first.client);
    await fresh.close();
  });

  test('a different endpoint gets its own client', async () => {
    const first = openStore('s3://bkt-a/', s3StorageConfig(s3)) as S3Store;
    const other = openStore('s3://bkt-a/', {
      ...s3StorageConfig(s3),
      s3: { ...s3StorageConfig(s3).s3, endpoint: 'http://127.0.0.1:1' },
    }) as S3Store;
    assert.notEqual(first.client, other.client);
    await first.close();
    await other.close();
  });

  test('an unsupported scheme is refused before any store is opened', () => {
    assert.throws(() => openStore('ftp://example.com/images/'), ConfigError);
  });
});
