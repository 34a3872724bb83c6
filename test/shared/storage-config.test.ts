import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../shared/errors.ts';
import { storageConfigFromEnv } from '../../shared/storage/storage-config.ts';

describe('storageConfigFromEnv', () => {
  test('an empty environment means AWS S3 in us-east-1 with the default credential chain', () => {
    assert.deepEqual(storageConfigFromEnv({}).s3, { forcePathStyle: false, region: 'us-east-1' });
  });

  test('S3_ENDPOINT wins over AWS_ENDPOINT_URL_S3, which wins over AWS_ENDPOINT_URL', () => {
    const all = {
      S3_ENDPOINT: 'http://a:9000',
      AWS_ENDPOINT_URL_S3: 'http://b:9000',
      AWS_ENDPOINT_URL: 'http://c:9000',
    };
    assert.equal(storageConfigFromEnv(all).s3.endpoint, 'http://a:9000');
    assert.equal(storageConfigFromEnv({ ...all, S3_ENDPOINT: '' }).s3.endpoint, 'http://b:9000');
    assert.equal(storageConfigFromEnv({ AWS_ENDPOINT_URL: 'http://c:9000' }).s3.endpoint, 'http://c:9000');
  });

  test('path-style addressing defaults to on with an endpoint and can be turned off', () => {
    assert.equal(storageConfigFromEnv({ S3_ENDPOINT: 'http://minio:9000' }).s3.forcePathStyle, true);
    assert.equal(
      storageConfigFromEnv({ S3_ENDPOINT: 'http://minio:9000', S3_FORCE_PATH_STYLE: 'false' }).s3.forcePathStyle,
      false,
    );
    assert.equal(storageConfigFromEnv({ S3_FORCE_PATH_STYLE: '1' }).s3.forcePathStyle, true);
  });

  test('AWS_REGION wins over AWS_DEFAULT_REGION', () => {
    assert.equal(
      storageConfigFromEnv({ AWS_REGION: 'eu-west-3', AWS_DEFAULT_REGION: 'us-west-2' }).s3.region,
      'eu-west-3',
    );
    assert.equal(storageConfigFromEnv({ AWS_DEFAULT_REGION: 'us-west-2' }).s3.region, 'us-west-2');
  });

  test('static credentials are taken from the env object only when both key id and secret are set', () => {
    const env = { AWS_ACCESS_KEY_ID: 'AKIA1', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'tok' };
    assert.deepEqual(storageConfigFromEnv(env).s3.credentials, {
      accessKeyId: 'AKIA1',
      secretAccessKey: 'secret',
      sessionToken: 'tok',
    });
    assert.equal(storageConfigFromEnv({ AWS_ACCESS_KEY_ID: 'AKIA1' }).s3.credentials, undefined);
  });

  test('an endpoint that is not an http(s) URL is refused with an example', () => {
    assert.throws(
      () => storageConfigFromEnv({ S3_ENDPOINT: 'localhost:9000' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /S3_ENDPOINT is not an http:\/\/ or https:\/\/ URL \(got 'localhost:9000'\).*http:\/\/localhost:9000/.test(
          error.message,
        ),
    );
  });

  test('a path-style flag that is not true or false is refused', () => {
    assert.throws(
      () => storageConfigFromEnv({ S3_FORCE_PATH_STYLE: 'yes' }),
      (error: unknown) =>
        error instanceof ConfigError && /S3_FORCE_PATH_STYLE.*'yes'.*true or false/.test(error.message),
    );
  });
});

describe('HTTP_* variables of web inputs', () => {
  test('defaults: no allowed host, timeouts, retries and opt-out respected', () => {
    const http = storageConfigFromEnv({}).http;
    assert.deepEqual(
      { ...http, userAgent: undefined },
      {
        allowedHosts: [],
        connectTimeoutMs: 10_000,
        timeoutMs: 30_000,
        attempts: 3,
        maxRedirects: 5,
        perHostConcurrency: 8,
        respectOptOut: true,
        userAgent: undefined,
      },
    );
    assert.match(http.userAgent, /^resnet-batch\/\d+\.\d+\.\d+ /);
  });

  test('HTTP_ALLOWED_HOSTS takes hosts and host:port, IPv6 in brackets, in lower case; empty means unset', () => {
    const env = { HTTP_ALLOWED_HOSTS: ' Images.Internal , 10.0.0.5:8080,[::1]:9000 ', HTTP_RESPECT_OPT_OUT: 'false' };
    const http = storageConfigFromEnv(env).http;
    assert.deepEqual(http.allowedHosts, ['images.internal', '10.0.0.5:8080', '[::1]:9000']);
    assert.equal(http.respectOptOut, false);
    assert.deepEqual(storageConfigFromEnv({ HTTP_ALLOWED_HOSTS: '' }).http.allowedHosts, []);
  });

  test('a malformed entry or number is refused naming the variable and the fix', () => {
    assert.throws(
      () => storageConfigFromEnv({ HTTP_ALLOWED_HOSTS: 'http://images.internal/' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /HTTP_ALLOWED_HOSTS entry 'http:\/\/images.internal\/' is not a host/.test(error.message),
    );
    assert.throws(
      () => storageConfigFromEnv({ HTTP_TIMEOUT_MS: '5s' }),
      (error: unknown) =>
        error instanceof ConfigError && /HTTP_TIMEOUT_MS is not valid \(got '5s'\)/.test(error.message),
    );
  });
});
