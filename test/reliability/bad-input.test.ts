import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { crc32, deflateSync } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { cliEnv, startOnnxWorker, submit } from '../harness/cli.ts';
import { fixturePath, readFixture } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { type ReadRow, readRunOutput } from '../harness/run-output.ts';
import { waitForRunDone } from '../harness/run-state.ts';
import { s3Env, s3StorageConfig, useS3 } from '../harness/s3-server.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

/**
 * Bad input mixed with good images, through the real submit and one real worker: each bad file
 * becomes an error row with a precise reason while its neighbours succeed; odd but valid names
 * (unicode, spaces, '..' inside a name, '%2F') process OK; what cannot be named safely (an S3
 * key with a '..' segment, a local file name that is not UTF-8, a huge manifest line) is skipped
 * at submit with a reason.
 */

const MAX_IMAGE_BYTES = 1_000_000;

/** Expected error of each bad S3 object: the row's error text must match. */
const BAD: Readonly<Record<string, RegExp>> = {
  'empty.jpg': /^EMPTY: image is empty \(0 bytes\)/,
  'diary.jpg': /^UNSUPPORTED_FORMAT: .*look like text \("Dear diary/,
  'truncated.jpg': /^DECODE_FAILED: could not decode the jpeg image \(400 bytes\)/,
  'bad-crc.png': /^DECODE_FAILED: .*IDAT chunk at byte \d+ has a bad CRC/,
  'bomb.png': /^TOO_MANY_PIXELS: image is 50000x50000 \(2500\.0 megapixels\), over the limit of 100\.0 megapixels/,
  'huge.png': /^TOO_LARGE: .*1500000.*1000000/s,
  'vector.png': /^UNSUPPORTED_FORMAT: .*look like SVG \(SVG is refused/,
};
/** Odd but valid S3 keys, each holding a good image. */
const ODD = ['café ünï.png', 'with space.jpg', 'a..b.jpg', 'x%2Fy.jpg', 'ok.png'];

const redis = useRedis();
const s3 = useS3();
let bucket: string;
let store: ObjectStore;
const dir = useTempDir('bad-input-');
let canary: Server;
let canaryRequests = 0;
let worker: ServerProcess | undefined;
let env: Record<string, string>;
let workerPeakRssMb: number;

setUp(async () => {
  bucket = uniqueName('bkt');
  await s3.createBucket(bucket);
  store = openStore(`s3://${bucket}/`, s3StorageConfig(s3));
  canary = createServer((_req, res) => {
    canaryRequests += 1;
    res.end('<svg/>');
  });
  await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
  env = cliEnv(redis.url, uniqueName('bad'), {
    LOG_LEVEL: 'info',
    MAX_IMAGE_BYTES: String(MAX_IMAGE_BYTES),
    ...s3Env(s3),
  });
  worker = await startOnnxWorker(env);
});

teardown(async () => {
  await worker?.stop('SIGTERM', 30_000);
  await store?.close();
  await new Promise((resolve) => canary?.close(resolve));
});

describe('an S3 prefix of bad files, odd names and good images', () => {
  let rows: ReadRow[];
  let submitLog: string;
  const rowOf = (name: string) => rows.find((row) => row.uri === `s3://${bucket}/input/${name}`);

  before(async () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64"><image xlink:href="http://127.0.0.1:${(canary.address() as AddressInfo).port}/pixel.png" width="64" height="64"/></svg>`;
    const objects: Record<string, Buffer> = {
      'empty.jpg': Buffer.alloc(0),
      'diary.jpg': Buffer.from('Dear diary, today I saved a letter as a JPEG.\n'),
      'truncated.jpg': await readFixture('truncated.jpg'),
      'bad-crc.png': corruptIdatCrc(await readFixture('palette_color.png')),
      'bomb.png': pngBomb(50_000, 50_000),
      'huge.png': Buffer.alloc(1_500_000, 7),
      'vector.png': Buffer.from(svg),
      'vector.svg': Buffer.from(svg),
    };
    for (const name of ODD) objects[name] = await readFixture(name.endsWith('.png') ? 'chelsea.png' : 'rocket.jpg');
    for (const [name, bytes] of Object.entries(objects)) await putObject(`input/${name}`, bytes);

    const submitted = await submit(`s3://${bucket}/input/`, `s3://${bucket}/results`, { shardSize: 4 }, env);
    submitLog = submitted.stderr;
    await waitForRunDone(redis.url, env.QUEUE_PREFIX!, submitted.run, 120_000);
    rows = (await readRunOutput(store, `s3://${bucket}/results`, submitted.run)).parts.flatMap((part) => part.rows);
    workerPeakRssMb = peakRssMb(worker!.child.pid!);
  });

  for (const [name, reason] of Object.entries(BAD)) {
    test(`${name} is an error row with its precise reason`, () => {
      const row = rowOf(name);
      assert.equal(row?.status, 'error', inspect(row));
      assert.match(row?.error ?? '', reason);
    });
  }

  test('the good images and odd-but-valid keys (unicode, space, a..b, %2F) are ok rows', () => {
    for (const name of ODD) assert.equal(rowOf(name)?.status, 'ok', `${name}: ${inspect(rowOf(name))}`);
  });

  test('every listed input has exactly one row, and nothing else has one', () => {
    assert.deepEqual(
      rows.map((row) => row.uri).sort(),
      [...Object.keys(BAD), ...ODD].map((name) => `s3://${bucket}/input/${name}`).sort(),
    );
  });

  test('the SVG file (by name) is skipped at submit, never sent to a worker', () => {
    assert.match(submitLog, /1 skipped/);
    assert.equal(rowOf('vector.svg'), undefined);
  });

  test('no SVG reference was fetched', () => {
    assert.equal(canaryRequests, 0);
  });

  test('the decompression bomb was refused without being allocated (worker peak RSS stays low)', () => {
    console.log(`worker peak RSS (VmHWM): ${workerPeakRssMb} MB`);
    // 50000x50000 greyscale alone is 2500 MB; the worker with its model stays far below.
    assert.ok(workerPeakRssMb < 1200, `peak RSS ${workerPeakRssMb} MB`);
  });
});

describe('a local folder holding a file name that is not UTF-8', () => {
  let rows: ReadRow[];
  let submitLog: string;

  before(async () => {
    const input = join(dir.path, 'local');
    await mkdir(input);
    await copyFile(fixturePath('chelsea.png'), join(input, 'ünï côde.png'));
    await copyFile(fixturePath('rocket.jpg'), join(input, 'plain.jpg'));
    // 'bad\xff\xfe.jpg': bytes no UTF-8 decoder accepts.
    await writeFile(
      Buffer.concat([Buffer.from(`${input}/bad`), Buffer.from([0xff, 0xfe]), Buffer.from('.jpg')]),
      await readFixture('rocket.jpg'),
    );
    const submitted = await submit(input, `s3://${bucket}/results-local`, { shardSize: 4 }, env);
    submitLog = submitted.stderr;
    await waitForRunDone(redis.url, env.QUEUE_PREFIX!, submitted.run, 120_000);
    rows = (await readRunOutput(store, `s3://${bucket}/results-local`, submitted.run)).parts.flatMap(
      (part) => part.rows,
    );
  });

  test('the UTF-8 names are ok rows and the run completes', () => {
    const ok = rows
      .filter((row) => row.status === 'ok')
      .map((row) => decodeURIComponent(row.uri.slice(row.uri.lastIndexOf('/') + 1)));
    assert.deepEqual(ok.sort(), ['plain.jpg', 'ünï côde.png']);
  });

  test('the non-UTF-8 name is skipped at submit with a warning naming it and the fix', () => {
    assert.deepEqual(
      rows.filter((row) => row.status === 'error'),
      [],
    );
    assert.match(
      submitLog,
      /skipped \S+local\/bad%EF%BF%BD%EF%BF%BD\.jpg: its name is not valid UTF-8 \(it reads as 'bad\uFFFD\uFFFD\.jpg'\).*rename it to UTF-8/,
    );
  });
});

describe("a manifest with a huge line and an S3 URI with a '..' segment between good lines", () => {
  let rows: ReadRow[];
  let submitLog: string;

  before(async () => {
    const manifest = join(dir.path, 'manifest.txt');
    // s3rver resolves '..' in the keys it stores, so a key like x/../y.jpg cannot be planted in
    // it; a manifest line names one, as a listing of real S3 (which keeps keys literal) would.
    const lines = [
      fixturePath('chelsea.png'),
      `/${'x'.repeat(100_000)}.jpg`,
      fixturePath('rocket.jpg'),
      `s3://${bucket}/input/x/../ok.png`,
    ];
    await writeFile(manifest, lines.join('\n'));
    const submitted = await submit(manifest, `s3://${bucket}/results-manifest`, { shardSize: 4 }, env);
    submitLog = submitted.stderr;
    await waitForRunDone(redis.url, env.QUEUE_PREFIX!, submitted.run, 120_000);
    rows = (await readRunOutput(store, `s3://${bucket}/results-manifest`, submitted.run)).parts.flatMap(
      (part) => part.rows,
    );
  });

  test('the huge line is skipped at submit with a warning naming its line number', () => {
    assert.match(submitLog, /skipped file:\/\/[^ ]*manifest\.txt:2: line is 100005 bytes, over the 8192-byte limit/);
  });

  test("the S3 URI with a '..' segment is skipped at submit with a reason, not sent to a shard", () => {
    assert.match(submitLog, /skipped s3:\/\/[^ ]+\/input\/x\/\.\.\/ok\.png: not inside/);
  });

  test('the good lines around them are ok rows', () => {
    assert.deepEqual(rows.map((row) => `${row.uri.slice(row.uri.lastIndexOf('/') + 1)} ${row.status}`).sort(), [
      'chelsea.png ok',
      'rocket.jpg ok',
    ]);
  });
});

async function putObject(key: string, body: Buffer): Promise<void> {
  // The raw SDK: joinUri (behind the store) rightly refuses the '..' key this test must plant.
  const config = s3StorageConfig(s3).s3;
  const client = new S3Client({ ...config, endpoint: s3.endpoint, credentials: config.credentials! });
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  } finally {
    client.destroy();
  }
}

/** A PNG whose header claims width x height greyscale pixels, with 1 MiB of zero rows deflated to a few kB. */
function pngBomb(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.alloc(1 << 20), { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/** The same PNG with the last byte of its first IDAT chunk's CRC flipped. */
function corruptIdatCrc(png: Buffer): Buffer {
  const copy = Buffer.from(png);
  const idat = copy.indexOf('IDAT', 8, 'ascii');
  const end = idat + 4 + copy.readUInt32BE(idat - 4) + 4;
  copy[end - 1] = (copy[end - 1] ?? 0) ^ 0xff;
  return copy;
}

/** Peak resident set size of a live process, in MB, from /proc. */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
}
