// The http(s) store against a real HTTP server on loopback (test/harness/http-image-server.ts):
// what a worker gets for each answer a web server can give, and the SSRF guard, which must refuse
// before any byte reaches a server that is not allowed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ImageError, ObjectTooLargeError, type ResnetBatchError } from '../../shared/errors.ts';
import { blockedRangeOf } from '../../shared/storage/http/address-ranges.ts';
import { optOutDirective } from '../../shared/storage/http/robots-tag.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { storageConfigFromEnv } from '../../shared/storage/storage-config.ts';
import { type HttpImageServer, serve, stall, startHttpImageServer } from '../harness/http-image-server.ts';

const png = readFileSync(new URL('../fixtures/images/chelsea.png', import.meta.url));

/** The store as a worker opens it, with these HTTP_* variables. */
function webStore(uri: string, env: Record<string, string>): ObjectStore {
  return openStore(uri, storageConfigFromEnv(env));
}

async function rejectsWithCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.equal((error as ResnetBatchError).code, code, String(error));
    if (message) assert.match((error as Error).message, message);
    return true;
  });
}

describe('http store', () => {
  let server: HttpImageServer;
  let allowed: Record<string, string>;
  before(async () => {
    server = await startHttpImageServer({
      '/chelsea.png': serve(png, { etag: '"v1-chelsea"' }),
      '/dated.png': serve(png, { 'last-modified': 'Wed, 21 Oct 2026 07:28:00 GMT' }),
      '/forbidden.png': (_request, response) => void response.writeHead(403).end(),
      '/stall.jpg': stall(),
      '/noai.png': serve(png, { 'x-robots-tag': 'noai' }),
      '/other-bot.png': serve(png, { 'x-robots-tag': 'otherbot: noimageai' }),
      '/big-declared.png': serve(Buffer.alloc(5000)),
      '/big-chunked.png': (_request, response) => {
        response.writeHead(200, { 'content-type': 'image/png' });
        for (let i = 0; i < 10; i += 1) response.write(Buffer.alloc(1000));
        response.end();
      },
      '/redirect-1': (_request, response) => void response.writeHead(302, { location: '/redirect-2' }).end(),
      '/redirect-2': (_request, response) => void response.writeHead(301, { location: '/chelsea.png' }).end(),
      '/loop': (_request, response) => void response.writeHead(302, { location: '/loop' }).end(),
      '/to-file': (_request, response) => void response.writeHead(302, { location: 'file:///etc/passwd' }).end(),
    });
    allowed = { HTTP_ALLOWED_HOSTS: server.hostPort, HTTP_TIMEOUT_MS: '1000', HTTP_ATTEMPTS: '3' };
  });
  after(async () => {
    await server.stop();
  });

  test('an image reads with its ETag and size, sent with a User-Agent naming the project', async () => {
    const uri = `${server.origin}/chelsea.png`;
    const read = await webStore(uri, allowed).readObject(uri);
    assert.deepEqual(read.body, png);
    assert.deepEqual(read.info, { uri, size: png.length, etag: 'v1-chelsea' });
    assert.match(server.requests.at(-1)?.userAgent ?? '', /^resnet-batch\/\d/);
  });

  test('without an ETag, Last-Modified is the etag', async () => {
    const uri = `${server.origin}/dated.png`;
    assert.equal((await webStore(uri, allowed).readObject(uri)).info.etag, 'Wed, 21 Oct 2026 07:28:00 GMT');
  });

  test('a 404 and a 403 are the image errors HTTP_404 and HTTP_403', async () => {
    const store = webStore(server.origin, allowed);
    await rejectsWithCode(store.read(`${server.origin}/missing.png`), 'HTTP_404', /404 Not Found/);
    await rejectsWithCode(store.read(`${server.origin}/forbidden.png`), 'HTTP_403');
  });

  test('a 503 with Retry-After is retried and the image then arrives', async () => {
    let calls = 0;
    server.route('/flaky.png', (_request, response) => {
      calls += 1;
      if (calls === 1) response.writeHead(503, { 'retry-after': '0' }).end();
      else response.writeHead(200).end(png);
    });
    const uri = `${server.origin}/flaky.png`;
    assert.deepEqual(await webStore(uri, allowed).read(uri), png);
  });

  test('a 429 asking for a wait longer than a minute is an HTTP_429 row at once', async () => {
    server.route('/busy.png', (_request, response) => void response.writeHead(429, { 'retry-after': '3600' }).end());
    await rejectsWithCode(webStore(server.origin, allowed).read(`${server.origin}/busy.png`), 'HTTP_429', /3600 s/);
  });

  test('a body that stalls is a TIMEOUT after HTTP_TIMEOUT_MS', async () => {
    await rejectsWithCode(webStore(server.origin, allowed).read(`${server.origin}/stall.jpg`), 'TIMEOUT');
  });

  test('MAX_IMAGE_BYTES holds on the declared length and while streaming a body without one', async () => {
    const store = webStore(server.origin, allowed);
    await assert.rejects(store.read(`${server.origin}/big-declared.png`, { maxBytes: 4096 }), ObjectTooLargeError);
    await assert.rejects(store.read(`${server.origin}/big-chunked.png`, { maxBytes: 4096 }), ObjectTooLargeError);
    assert.equal((await store.read(`${server.origin}/big-chunked.png`, { maxBytes: 10_000 })).length, 10_000);
  });

  test('redirects are followed, and a loop ends as TOO_MANY_REDIRECTS', async () => {
    const store = webStore(server.origin, allowed);
    assert.deepEqual(await store.read(`${server.origin}/redirect-1`), png);
    await rejectsWithCode(store.read(`${server.origin}/loop`), 'TOO_MANY_REDIRECTS');
  });

  test('a redirect to a URL that is not http(s) is refused', async () => {
    await rejectsWithCode(
      webStore(server.origin, allowed).read(`${server.origin}/to-file`),
      'TOO_MANY_REDIRECTS',
      /file:/,
    );
  });

  test("X-Robots-Tag noai is OPTED_OUT, unless HTTP_RESPECT_OPT_OUT=false; another bot's directive does not apply", async () => {
    const uri = `${server.origin}/noai.png`;
    await rejectsWithCode(webStore(uri, allowed).read(uri), 'OPTED_OUT', /noai/);
    assert.deepEqual(await webStore(uri, { ...allowed, HTTP_RESPECT_OPT_OUT: 'false' }).read(uri), png);
    const other = `${server.origin}/other-bot.png`;
    assert.deepEqual(await webStore(other, allowed).read(other), png);
  });

  test('no more requests than HTTP_PER_HOST_CONCURRENCY are open to one host at once', async () => {
    const limited = await startHttpImageServer({
      '/slow.png': (_request, response) => void setTimeout(() => response.writeHead(200).end(png), 100),
    });
    try {
      const env = { HTTP_ALLOWED_HOSTS: limited.hostPort, HTTP_PER_HOST_CONCURRENCY: '2' };
      const reads = Array.from({ length: 8 }, () => webStore(limited.origin, env).read(`${limited.origin}/slow.png`));
      assert.equal((await Promise.all(reads)).length, 8);
      assert.ok(limited.maxConcurrent <= 2, `at most 2 at once, saw ${limited.maxConcurrent}`);
    } finally {
      await limited.stop();
    }
  });

  test('list and write are refused with what to do instead', async () => {
    const store = webStore(server.origin, allowed);
    await assert.rejects(async () => {
      for await (const _ of store.list(`${server.origin}/`)) break;
    }, /list file/);
    await assert.rejects(store.write(`${server.origin}/x.png`, 'x'), /read only/);
  });
});

describe('SSRF guard', () => {
  let server: HttpImageServer;
  before(async () => {
    server = await startHttpImageServer({ '/chelsea.png': serve(png) });
  });
  after(async () => {
    await server.stop();
  });

  test('a loopback address not in HTTP_ALLOWED_HOSTS is BLOCKED_ADDRESS, and no connection reaches it', async () => {
    const before = server.connections;
    const uri = `${server.origin}/chelsea.png`;
    await rejectsWithCode(webStore(uri, {}).read(uri), 'BLOCKED_ADDRESS', /loopback address.*HTTP_ALLOWED_HOSTS/);
    assert.equal(server.connections, before);
  });

  test('a host name is checked after resolution: localhost is refused as loopback', async () => {
    const uri = `http://localhost:${server.port}/chelsea.png`;
    await rejectsWithCode(webStore(uri, {}).read(uri), 'BLOCKED_ADDRESS', /localhost \((127\.0\.0\.1|::1)\)/);
  });

  test('an allowed host redirecting to one that is not is refused at that hop', async () => {
    const other = await startHttpImageServer({ '/chelsea.png': serve(png) });
    try {
      server.route('/away', (_request, response) => {
        response.writeHead(302, { location: `${other.origin}/chelsea.png` }).end();
      });
      const uri = `${server.origin}/away`;
      await rejectsWithCode(webStore(uri, { HTTP_ALLOWED_HOSTS: server.hostPort }).read(uri), 'BLOCKED_ADDRESS');
      assert.equal(other.connections, 0);
    } finally {
      await other.stop();
    }
  });

  test('a host that does not resolve is UNREACHABLE', async () => {
    const uri = 'http://no-such-host.invalid/a.png';
    await rejectsWithCode(webStore(uri, { HTTP_ATTEMPTS: '1' }).read(uri), 'UNREACHABLE', /does not resolve/);
  });

  test('address ranges are named, IPv4 inside IPv6 included', () => {
    const cases: Array<[string, string | null]> = [
      ['127.0.0.1', 'loopback'],
      ['10.1.2.3', 'private'],
      ['192.168.0.10', 'private'],
      ['172.31.255.1', 'private'],
      ['169.254.169.254', 'link-local'],
      ['100.100.100.200', 'carrier-grade NAT'],
      ['224.0.0.251', 'multicast'],
      ['0.0.0.0', 'unspecified'],
      ['::1', 'loopback'],
      ['fd00:ec2::254', 'unique-local'],
      ['fe80::1', 'link-local'],
      ['ff02::1', 'multicast'],
      ['::ffff:10.0.0.1', 'private'],
      ['::ffff:7f00:1', 'loopback'],
      ['64:ff9b::a9fe:a9fe', 'link-local'],
      ['8.8.8.8', null],
      ['2606:4700:4700::1111', null],
      ['::ffff:8.8.8.8', null],
    ];
    for (const [address, range] of cases) assert.equal(blockedRangeOf(address), range, address);
  });

  test('an image error is what the worker makes a row of', async () => {
    const uri = `${server.origin}/chelsea.png`;
    await assert.rejects(webStore(uri, {}).read(uri), ImageError);
  });
});

describe('X-Robots-Tag', () => {
  test('noai and noimageai opt out, for everyone or for resnet-batch by name', () => {
    assert.equal(optOutDirective('noai'), 'noai');
    assert.equal(optOutDirective('noindex, NoImageAI'), 'noimageai');
    assert.equal(optOutDirective(['noindex', 'resnet-batch: noai']), 'noai');
    assert.equal(optOutDirective('googlebot: noai'), null);
    assert.equal(optOutDirective('noindex, nofollow'), null);
    assert.equal(optOutDirective(undefined), null);
  });
});
