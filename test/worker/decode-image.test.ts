import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { PREPROCESS } from '../../model/preprocess-spec.ts';
import { ConfigError, ImageError } from '../../shared/errors.ts';
import { type DecodedImage, decodeImage } from '../../worker/decode-image.ts';
import { describeJpegDamage } from '../../worker/jpeg-damage.ts';
import { readFixture } from '../harness/fixtures.ts';

const fixture = (name: string): Promise<Buffer> => readFixture(name);
const SIZE = PREPROCESS.cropSize;
const [MEAN_B, MEAN_G, MEAN_R] = PREPROCESS.meanBGR;
const EXACT = 1e-4;

type Rgb = [number, number, number];

/** The RGB colour at (x, y) of the crop, undoing BGR and the means. */
function rgbAt(decoded: DecodedImage, x: number, y: number): Rgb {
  const i = (y * SIZE + x) * 3;
  const { pixels } = decoded;
  return [(pixels[i + 2] ?? NaN) + MEAN_R, (pixels[i + 1] ?? NaN) + MEAN_G, (pixels[i] ?? NaN) + MEAN_B];
}

/** `tolerance` is in 0-255 levels; EXACT allows only float32 rounding of the means. */
function assertEveryPixel(decoded: DecodedImage, expected: Rgb, tolerance: number): void {
  for (let y = 0; y < SIZE; y += 1) {
    for (let x = 0; x < SIZE; x += 1) {
      const got = rgbAt(decoded, x, y);
      got.forEach((value, c) => {
        assert.ok(Math.abs(value - expected[c]!) <= tolerance, `pixel (${x},${y}) is ${got}, expected ${expected}`);
      });
    }
  }
}

function solid(width: number, height: number, [r, g, b]: Rgb): Sharp {
  return sharp({ create: { width, height, channels: 3, background: { r, g, b } } });
}

/** Frames stacked vertically into one sharp image with pageHeight, the way sharp writes GIF/TIFF pages. */
async function pages(width: number, height: number, colours: Rgb[]): Promise<Sharp> {
  const frames = await Promise.all(colours.map((colour) => solid(width, height, colour).raw().toBuffer()));
  return sharp(Buffer.concat(frames), {
    raw: { width, height: height * colours.length, channels: 3, pageHeight: height },
  });
}

async function rejectsWith(
  bytes: Buffer,
  code: string,
  reason?: RegExp,
  options?: Parameters<typeof decodeImage>[1],
): Promise<ImageError> {
  const error = await decodeImage(bytes, options).then(
    () => assert.fail(`expected ${code}, but the image decoded`),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof ImageError, `expected an ImageError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  assert.equal(error.retryable, false);
  if (reason) assert.match(error.message, reason);
  return error;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A 1-bit greyscale PNG whose header says 50000x50000 (2.5 gigapixels, 312 MB of 1-bit rows,
 * 7.5 GB as RGB) in about 12 kB. Its IDAT holds the first 2000 rows of zeros only: the pixel
 * limit must refuse it from the header, before any row is read.
 */
function decompressionBombPng(): Buffer {
  const side = 50_000;
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 1; // bit depth
  header[9] = 0; // greyscale
  const rowBytes = 1 + Math.ceil(side / 8); // filter byte + packed pixels
  const idat = zlib.deflateSync(Buffer.alloc(rowBytes * 2000), { level: 9 });
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    pngChunk('IHDR', header),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** chelsea.png with one bit of its first IDAT chunk's CRC flipped: the pixel data itself is intact. */
async function corruptCrcPng(): Promise<Buffer> {
  const png = Buffer.from(await fixture('chelsea.png'));
  let offset = 8;
  while (png.toString('latin1', offset + 4, offset + 8) !== 'IDAT') offset += 12 + png.readUInt32BE(offset);
  png[offset + 8 + png.readUInt32BE(offset)]! ^= 0x01;
  return png;
}

test('chelsea.png decodes to 224x224x3 BGR floats within the caffe range', async () => {
  const decoded = await decodeImage(await fixture('chelsea.png'));
  assert.equal(decoded.pixels.length, SIZE * SIZE * 3);
  assert.deepEqual([decoded.width, decoded.height, decoded.format], [451, 300, 'png']);
  for (const value of decoded.pixels) assert.ok(value >= -124 && value <= 152, `value ${value} out of range`);
});

test('a solid colour becomes its channels in BGR order minus the ImageNet means, exactly', async () => {
  const decoded = await decodeImage(await solid(500, 300, [200, 100, 50]).png().toBuffer());
  const expected = [50 - MEAN_B, 100 - MEAN_G, 200 - MEAN_R];
  for (let i = 0; i < decoded.pixels.length; i += 3) {
    for (let c = 0; c < 3; c += 1)
      assert.ok(Math.abs(decoded.pixels[i + c]! - expected[c]!) < 1e-4, `float ${i + c} is ${decoded.pixels[i + c]}`);
  }
});

test('the crop is the centre 224 of the longer side once the shorter side is 256', async () => {
  // 512x256 needs no resize: columns 144..367 are the centre 224. Red marks the columns just outside.
  const width = 512;
  const height = 256;
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) rgb.set(x === 143 || x === 368 ? [255, 0, 0] : [0, 255, 0], (y * width + x) * 3);
  }
  const wide = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  assertEveryPixel(await decodeImage(wide), [0, 255, 0], EXACT);
  const tall = await sharp(wide).rotate(90).png().toBuffer();
  assertEveryPixel(await decodeImage(tall), [0, 255, 0], EXACT);
});

test('EXIF orientation 6 is applied: width and height swap and the stored top edge ends on the right', async () => {
  const stored = Buffer.alloc(400 * 300 * 3);
  for (let i = 0; i < 400 * 300; i += 1) stored.set(i < 400 * 150 ? [255, 0, 0] : [0, 0, 255], i * 3);
  const jpeg = await sharp(stored, { raw: { width: 400, height: 300, channels: 3 } })
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
  const decoded = await decodeImage(jpeg);
  assert.deepEqual([decoded.width, decoded.height], [300, 400]);
  const left = rgbAt(decoded, 5, SIZE / 2);
  const right = rgbAt(decoded, SIZE - 5, SIZE / 2);
  assert.ok(left[2] > 200 && left[0] < 50, `left edge should be blue, is ${left}`);
  assert.ok(right[0] > 200 && right[2] < 50, `right edge should be red, is ${right}`);
});

test('an animated GIF decodes its first frame only', async () => {
  const fixtureGif = await decodeImage(await fixture('no_time_for_that_tiny.gif'));
  assert.deepEqual([fixtureGif.width, fixtureGif.height, fixtureGif.format], [14, 25, 'gif']);
  const redThenBlue = await (
    await pages(300, 300, [
      [255, 0, 0],
      [0, 0, 255],
    ])
  )
    .gif()
    .toBuffer();
  assert.equal((await sharp(redThenBlue).metadata()).pages, 2);
  const decoded = await decodeImage(redThenBlue);
  assert.deepEqual([decoded.width, decoded.height], [300, 300]);
  assertEveryPixel(decoded, [255, 0, 0], 2);
});

test('a multi-page TIFF decodes its first page only', async () => {
  const redThenBlue = await (
    await pages(300, 200, [
      [255, 0, 0],
      [0, 0, 255],
    ])
  )
    .tiff()
    .toBuffer();
  assert.equal((await sharp(redThenBlue).metadata()).pages, 2);
  const decoded = await decodeImage(redThenBlue);
  assert.deepEqual([decoded.width, decoded.height, decoded.format], [300, 200, 'tiff']);
  assertEveryPixel(decoded, [255, 0, 0], 2);
});

test('multipage_rgb.tif, whose 64-bit float planes libvips cannot read, is DECODE_FAILED with the reason', async () => {
  await rejectsWith(await fixture('multipage_rgb.tif'), 'DECODE_FAILED', /samples out of range/);
});

test('the 16-bit greyscale TIFF decodes to three 8-bit channels', async () => {
  const decoded = await decodeImage(await fixture('chessboard_GRAY_U16.tif'));
  assert.deepEqual([decoded.width, decoded.height, decoded.pixels.length], [200, 200, SIZE * SIZE * 3]);
  const [r, g, b] = rgbAt(decoded, 0, 0);
  assert.ok(Math.abs(r - g) < 1e-3 && Math.abs(g - b) < 1e-3, `grey should give equal channels, got ${[r, g, b]}`);
});

test('16-bit samples are scaled to 8 bits, not clipped', async () => {
  const samples = new Uint16Array(300 * 300 * 3).map((_, i) => [200 * 257, 100 * 257, 50 * 257][i % 3]!);
  const png16 = await sharp(samples, { raw: { width: 300, height: 300, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toBuffer();
  assert.equal((await sharp(png16).metadata()).depth, 'ushort');
  assertEveryPixel(await decodeImage(png16), [200, 100, 50], EXACT);
});

test('palette PNGs decode', async () => {
  const tiny = await decodeImage(await fixture('palette_color.png'));
  assert.deepEqual([tiny.width, tiny.height, tiny.pixels.length], [10, 10, SIZE * SIZE * 3]);
  const green = await decodeImage(await fixture('green_palette.png'));
  assert.deepEqual([green.width, green.height, green.pixels.length], [320, 240, SIZE * SIZE * 3]);
});

test('a greyscale image becomes three equal channels', async () => {
  const grey = await solid(300, 300, [90, 90, 90]).toColourspace('b-w').png().toBuffer();
  assert.equal((await sharp(grey).metadata()).channels, 1);
  assertEveryPixel(await decodeImage(grey), [90, 90, 90], EXACT);
});

test('a CMYK JPEG decodes to RGB', async () => {
  const cmyk = await solid(300, 300, [230, 120, 20]).toColourspace('cmyk').jpeg().toBuffer();
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  const [r, g, b] = rgbAt(await decodeImage(cmyk), SIZE / 2, SIZE / 2);
  assert.ok(r > g && g > b, `an orange should stay orange, got ${[r, g, b]}`);
});

test('the RGBA horse decodes', async () => {
  const decoded = await decodeImage(await fixture('horse.png'));
  assert.deepEqual([decoded.width, decoded.height, decoded.pixels.length], [400, 328, SIZE * SIZE * 3]);
});

test('transparent pixels are composited onto white, whatever colour is stored under them', async () => {
  const rgba = Buffer.alloc(300 * 300 * 4);
  for (let i = 0; i < rgba.length; i += 4) rgba.set([10, 200, 30, 0], i);
  const transparent = await sharp(rgba, { raw: { width: 300, height: 300, channels: 4 } })
    .png()
    .toBuffer();
  assertEveryPixel(await decodeImage(transparent), [255, 255, 255], EXACT);
});

test('half-transparent pixels are blended with white', async () => {
  const rgba = Buffer.alloc(300 * 300 * 4);
  for (let i = 0; i < rgba.length; i += 4) rgba.set([10, 200, 30, 128], i);
  const translucent = await sharp(rgba, { raw: { width: 300, height: 300, channels: 4 } })
    .png()
    .toBuffer();
  const blend = (colour: number): number => (colour * 128 + 255 * 127) / 255;
  assertEveryPixel(await decodeImage(translucent), [blend(10), blend(200), blend(30)], 1);
});

test('an AVIF image decodes', async () => {
  const decoded = await decodeImage(await solid(300, 300, [200, 100, 50]).avif({ lossless: true }).toBuffer());
  assert.equal(decoded.format, 'heif');
  assertEveryPixel(decoded, [200, 100, 50], 3);
});

test('an extreme aspect ratio (100000x1) decodes without materialising the resized strip', async () => {
  const strip = await solid(100_000, 1, [0, 255, 0]).png().toBuffer();
  assertEveryPixel(await decodeImage(strip), [0, 255, 0], EXACT);
});

test("truncated.jpg is DECODE_FAILED with libjpeg's reason", async () => {
  const error = await rejectsWith(await fixture('truncated.jpg'), 'DECODE_FAILED', /premature end of JPEG image/);
  assert.doesNotMatch(error.message, /VipsJpeg:/);
});

test('truncated JPEGs decoded among good images, many at once, each keep a reason that says they end early', async () => {
  // libvips' error text is process-wide and other decode threads clear it; the reason must survive that.
  const [truncated, rocket, chelsea] = await Promise.all(['truncated.jpg', 'rocket.jpg', 'chelsea.png'].map(fixture));
  const inputs = Array.from({ length: 48 }, (_, index) => [truncated, rocket, chelsea][index % 3] as Buffer);
  const outcomes = await Promise.allSettled(inputs.map((bytes) => decodeImage(bytes)));
  for (const [index, outcome] of outcomes.entries()) {
    if (index % 3 !== 0) {
      assert.equal(outcome.status, 'fulfilled', `input ${index} should decode`);
      continue;
    }
    assert.equal(outcome.status, 'rejected');
    assert.match((outcome as PromiseRejectedResult).reason.message, /premature end of JPEG/i);
  }
});

test('the JPEG marker walk names where a file ends and finds nothing wrong in a whole one', async () => {
  const rocket = await fixture('rocket.jpg');
  assert.equal(describeJpegDamage(rocket), undefined);
  assert.match(
    describeJpegDamage(await fixture('truncated.jpg')) ?? '',
    /ends inside its DHT segment at byte 393.*truncated/,
  );
  assert.match(
    describeJpegDamage(rocket.subarray(0, rocket.length - 100)) ?? '',
    /inside its pixel data, with no end-of-image marker/,
  );
  assert.match(
    describeJpegDamage(await fixture('chelsea.png')) ?? '',
    /does not start with a JPEG start-of-image marker/,
  );
});

test('a JPEG cut in half is DECODE_FAILED, not a grey image', async () => {
  const rocket = await fixture('rocket.jpg');
  await rejectsWith(rocket.subarray(0, rocket.length / 2), 'DECODE_FAILED', /premature end/);
});

test('a PNG cut in half is DECODE_FAILED and says where it ends', async () => {
  const chelsea = await fixture('chelsea.png');
  await rejectsWith(chelsea.subarray(0, chelsea.length / 2), 'DECODE_FAILED', /ends inside its IDAT chunk.*truncated/);
});

test('a PNG with a corrupt CRC is DECODE_FAILED and names the chunk', async () => {
  await rejectsWith(await corruptCrcPng(), 'DECODE_FAILED', /IDAT chunk at byte \d+ has a bad CRC/);
});

test('failOn "truncated" lets the PNG with a corrupt CRC decode', async () => {
  const decoded = await decodeImage(await corruptCrcPng(), { failOn: 'truncated' });
  assert.equal(decoded.pixels.length, SIZE * SIZE * 3);
});

test('a zero-byte file is EMPTY', async () => {
  await rejectsWith(Buffer.alloc(0), 'EMPTY', /0 bytes/);
});

test('text saved as .jpg is UNSUPPORTED_FORMAT', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'decode-image-'));
  try {
    await writeFile(join(dir, 'holiday.jpg'), 'Dear diary, today I saved a note under an image name.\n');
    await rejectsWith(await readFile(join(dir, 'holiday.jpg')), 'UNSUPPORTED_FORMAT', /look like text \("Dear diary/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an SVG is UNSUPPORTED_FORMAT and none of its external references is fetched', async () => {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(request.url ?? '');
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const svg = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE svg [<!ENTITY remote SYSTEM "${base}/entity">]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="300" height="300">
  <style>@import url("${base}/style.css");</style>
  <image xlink:href="${base}/image.png" width="300" height="300"/>
  <use href="${base}/sprite.svg#x"/>
  <text>&remote;</text>
</svg>`;
  try {
    await rejectsWith(Buffer.from(svg), 'UNSUPPORTED_FORMAT', /look like SVG/);
    await rejectsWith(Buffer.from(svg.replace(/^<\?xml[^>]*>\n/, '  ')), 'UNSUPPORTED_FORMAT', /look like SVG/);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  assert.deepEqual(requests, []);
});

test('HEIC is UNSUPPORTED_FORMAT with the reason', async () => {
  const ftyp = Buffer.alloc(24);
  ftyp.writeUInt32BE(24, 0);
  ftyp.write('ftypheic', 4, 'latin1');
  ftyp.write('mif1heic', 16, 'latin1');
  await rejectsWith(ftyp, 'UNSUPPORTED_FORMAT', /HEIC/);
});

test('a 50000x50000 PNG decompression bomb is TOO_MANY_PIXELS', async () => {
  const bomb = decompressionBombPng();
  assert.ok(bomb.length < 20_000, `the bomb is ${bomb.length} bytes`);
  await rejectsWith(bomb, 'TOO_MANY_PIXELS', /50000x50000 \(2500\.0 megapixels\), over the limit of 100\.0 megapixels/);
});

test('maxPixels is checked against the header width x height', async () => {
  // chelsea.png is 451x300 = 135,300 pixels.
  await rejectsWith(await fixture('chelsea.png'), 'TOO_MANY_PIXELS', /451x300/, { maxPixels: 135_299 });
  const decoded = await decodeImage(await fixture('chelsea.png'), { maxPixels: 135_300 });
  assert.equal(decoded.width, 451);
});

test('invalid options are a ConfigError, not an image error', async () => {
  const chelsea = await fixture('chelsea.png');
  await assert.rejects(decodeImage(chelsea, { maxPixels: 0 }), ConfigError);
  await assert.rejects(decodeImage(chelsea, { timeoutSeconds: -1 }), ConfigError);
});
