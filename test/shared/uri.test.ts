import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../shared/errors.ts';
import { isWithin, joinUri, normalizeUri, parseUri, relativeKeyWithin } from '../../shared/storage/uri.ts';

const cwd = '/srv/job';

describe('parseUri', () => {
  test('an s3 URI splits into bucket and literal key', () => {
    assert.deepEqual(parseUri('s3://my-bucket/images/a b%2Fc.jpg'), {
      scheme: 's3',
      bucket: 'my-bucket',
      key: 'images/a b%2Fc.jpg',
    });
  });

  test('an s3 URI without a key addresses the whole bucket', () => {
    assert.deepEqual(parseUri('s3://my-bucket'), { scheme: 's3', bucket: 'my-bucket', key: '' });
    assert.deepEqual(parseUri('s3://my-bucket/'), { scheme: 's3', bucket: 'my-bucket', key: '' });
  });

  test('an s3 URI keeps dot segments in the key literally', () => {
    assert.deepEqual(parseUri('s3://bkt/a/../b'), { scheme: 's3', bucket: 'bkt', key: 'a/../b' });
  });

  test('the scheme is case-insensitive', () => {
    assert.equal(normalizeUri('S3://bkt/Key'), 's3://bkt/Key');
  });

  test('a malformed bucket name is refused with the naming rule', () => {
    assert.throws(
      () => parseUri('s3://My_Bucket/k'),
      (error: unknown) => error instanceof ConfigError && /3-63 characters/.test(error.message),
    );
    assert.throws(() => parseUri('s3:///key'), ConfigError);
  });

  test('a file URI is percent-decoded into a normalised absolute path', () => {
    assert.deepEqual(parseUri('file:///data/x/../photos/caf%C3%A9%201.jpg'), {
      scheme: 'file',
      path: '/data/photos/café 1.jpg',
    });
  });

  test('a file URI with an encoded slash is refused', () => {
    assert.throws(
      () => parseUri('file:///data/a%2Fb'),
      (error: unknown) => error instanceof ConfigError && /%2F/.test(error.message),
    );
  });

  test('a file URI with a remote host, query or fragment is refused', () => {
    assert.throws(() => parseUri('file://server/share/x'), ConfigError);
    assert.throws(() => parseUri('file:///data/x?y=1'), ConfigError);
    assert.throws(() => parseUri('file:///data/x#frag'), ConfigError);
  });

  test('a plain relative path is resolved literally against the working directory', () => {
    assert.deepEqual(parseUri('./in/a%2Fb #1.jpg', cwd), { scheme: 'file', path: '/srv/job/in/a%2Fb #1.jpg' });
    assert.deepEqual(parseUri('../other', cwd), { scheme: 'file', path: '/srv/other' });
  });

  test('a plain absolute path is normalised', () => {
    assert.deepEqual(parseUri('/data//x/./y/', cwd), { scheme: 'file', path: '/data/x/y' });
  });

  test('unsupported schemes and empty input are refused with what to write instead', () => {
    for (const input of ['ftp://host/file', 'gs://bkt/k', '', '   ']) {
      assert.throws(
        () => parseUri(input),
        (error: unknown) => error instanceof ConfigError && /expected s3:\/\/bucket\/key/.test(error.message),
        input,
      );
    }
  });
});

describe('normalizeUri', () => {
  test('a plain path becomes a percent-encoded file URI that parses back to the same path', () => {
    const uri = normalizeUri('./dir/ça va 100%.jpg', cwd);
    assert.equal(uri, 'file:///srv/job/dir/%C3%A7a%20va%20100%25.jpg');
    assert.deepEqual(parseUri(uri), { scheme: 'file', path: '/srv/job/dir/ça va 100%.jpg' });
  });

  test('an s3 URI is returned verbatim with its key', () => {
    assert.equal(normalizeUri('s3://bkt/a b/ü%2F.jpg'), 's3://bkt/a b/ü%2F.jpg');
  });
});

describe('joinUri', () => {
  test('a relative key is appended to an s3 prefix with exactly one slash', () => {
    assert.equal(joinUri('s3://bkt/out', 'run-1/part.npy'), 's3://bkt/out/run-1/part.npy');
    assert.equal(joinUri('s3://bkt/out/', 'run-1/part.npy'), 's3://bkt/out/run-1/part.npy');
    assert.equal(joinUri('s3://bkt', 'part.npy'), 's3://bkt/part.npy');
  });

  test('a relative key is appended to a file prefix literally', () => {
    assert.equal(joinUri('file:///out', 'run 1/a%2Fb.npy'), 'file:///out/run%201/a%252Fb.npy');
  });

  test('a key that climbs out of the prefix is refused', () => {
    assert.throws(() => joinUri('file:///out/run', '../other/x'), ConfigError);
    assert.throws(() => joinUri('s3://bkt/out/run', '../other/x'), ConfigError);
    assert.throws(() => joinUri('s3://bkt/out', '/abs'), ConfigError);
  });
});

describe('isWithin', () => {
  test('an object under a folder root is within it, on both schemes', () => {
    assert.equal(isWithin('s3://bkt/out/run-1/', 's3://bkt/out/run-1/metadata/part-0.parquet'), true);
    assert.equal(isWithin('file:///out/run-1', '/out/run-1/embeddings/part-0.npy'), true);
  });

  test('a sibling whose name starts with the root name is not within it', () => {
    assert.equal(isWithin('s3://bkt/out/run-1', 's3://bkt/out/run-10/x'), false);
    assert.equal(isWithin('/out/run-1', '/out/run-10/x'), false);
  });

  test('a file path that climbs out with .. is not within the root', () => {
    assert.equal(isWithin('/out/run-1', '/out/run-1/../run-2/x'), false);
    assert.equal(isWithin('/out/run-1', 'file:///out/run-1/%2E%2E/run-2/x'), false);
  });

  test('an s3 key with a dot segment is never within a root', () => {
    assert.equal(isWithin('s3://bkt/out/run-1/', 's3://bkt/out/run-1/../run-2/x'), false);
    assert.equal(isWithin('s3://bkt/out/run-1/', 's3://bkt/out/run-1/./x'), false);
  });

  test('an encoded slash in an s3 key is a literal character, not a separator', () => {
    assert.equal(isWithin('s3://bkt/out/run-1/', 's3://bkt/out/run-1%2F..%2Fx'), false);
    assert.equal(relativeKeyWithin('s3://bkt/out/', 's3://bkt/out/a%2F..%2Fb'), 'a%2F..%2Fb');
  });

  test('unicode and spaces are compared exactly', () => {
    assert.equal(isWithin('s3://bkt/café/', 's3://bkt/café/a b.jpg'), true);
    assert.equal(isWithin('s3://bkt/café/', 's3://bkt/cafe\u0301/a b.jpg'), false);
    assert.equal(isWithin('/data/my photos', 'file:///data/my%20photos/x.jpg'), true);
  });

  test('another bucket or another scheme is never within the root', () => {
    assert.equal(isWithin('s3://bkt/out/', 's3://other/out/x'), false);
    assert.equal(isWithin('s3://bkt/out/', '/out/x'), false);
  });

  test('the root itself counts as within', () => {
    assert.equal(relativeKeyWithin('s3://bkt/out/', 's3://bkt/out/'), '');
    assert.equal(relativeKeyWithin('/out', 'file:///out/'), '');
  });
});

describe('web URLs', () => {
  test('an https URL is canonical in the WHATWG form, without its fragment', () => {
    assert.equal(normalizeUri('HTTPS://CDN.Example:443/a b.jpg?w=1#top'), 'https://cdn.example/a%20b.jpg?w=1');
    assert.equal(normalizeUri('http://127.0.0.1:8080/x.png'), 'http://127.0.0.1:8080/x.png');
  });

  test('a URL with a user name or password is refused, without echoing the password', () => {
    assert.throws(
      () => parseUri('https://me:secret@cdn.example/a.jpg'),
      (error: unknown) =>
        error instanceof ConfigError &&
        /user name or password/.test(error.message) &&
        !error.message.includes('secret'),
    );
  });

  test('a URL is within a root on its host, never one of another host or scheme', () => {
    assert.equal(isWithin('https://cdn.example/img/', 'https://cdn.example/img/a.jpg?x=1'), true);
    assert.equal(isWithin('https://cdn.example/img/', 'https://cdn.example/img2/a.jpg'), false);
    assert.equal(isWithin('https://cdn.example/img/', 'https://cdn.example/img/../secret'), false);
    assert.equal(isWithin('https://cdn.example/img/', 'https://evil.example/img/a.jpg'), false);
    assert.equal(isWithin('https://*/', 'https://any.example/a.jpg'), true);
    assert.equal(isWithin('https://*/', 'http://any.example/a.jpg'), false);
    assert.equal(isWithin('https://*/', 'file:///etc/passwd'), false);
  });
});
