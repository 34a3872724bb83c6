import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'npyjs';
import { encodeNpy } from '../../worker/write-embeddings.ts';

// npyjs is an independent .npy reader: the tests do not trust a decoder of our own.
function readNpy(bytes: Buffer) {
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return parse(copy);
}

function headerOf(bytes: Buffer): { text: string; dataStart: number } {
  const length = bytes.readUInt16LE(8);
  return { text: bytes.subarray(10, 10 + length).toString('latin1'), dataStart: 10 + length };
}

function ramp(count: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => Math.sin(i) * 3.5);
}

describe('encodeNpy', () => {
  it('starts with the NPY magic string and format version 1.0', () => {
    const bytes = encodeNpy(ramp(6), 2, 3);
    assert.deepEqual([...bytes.subarray(0, 6)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
    assert.deepEqual([...bytes.subarray(6, 8)], [1, 0]);
  });

  it('writes the header dict numpy writes for a little-endian float32 C-order (n, D) array', () => {
    const { text } = headerOf(encodeNpy(ramp(2048 * 7), 7, 2048));
    assert.match(text, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(7, 2048\), \} *\n$/);
  });

  it('pads the header so the data starts at a multiple of 64 bytes and ends it with a newline', () => {
    for (const [rows, width] of [
      [1, 1],
      [3, 5],
      [12345, 7],
      [0, 2048],
    ] as const) {
      const bytes = encodeNpy(ramp(rows * width), rows, width);
      const { text, dataStart } = headerOf(bytes);
      assert.equal(dataStart % 64, 0, `data offset for (${rows}, ${width})`);
      assert.ok(text.endsWith('\n'));
      assert.equal(bytes.length, dataStart + rows * width * 4);
    }
  });

  it('produces the same bytes as np.save for a (3, 5) float32 array', () => {
    // Golden header captured from numpy 2.4 np.save(f, np.zeros((3, 5), '<f4')): 118 bytes of
    // header text, spaces up to byte 127, newline at byte 127.
    const expected = Buffer.concat([
      Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0x76, 0]),
      Buffer.from(`${`{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }`.padEnd(117, ' ')}\n`, 'latin1'),
    ]);
    assert.deepEqual(encodeNpy(new Float32Array(15), 3, 5).subarray(0, 128), expected);
  });

  it('round-trips values and shape through an independent reader', () => {
    const values = ramp(4 * 2048);
    const parsed = readNpy(encodeNpy(values, 4, 2048));
    assert.deepEqual(parsed.shape, [4, 2048]);
    assert.equal(parsed.dtype, 'f4');
    assert.equal(parsed.fortranOrder, false);
    const data = parsed.data as Float32Array;
    assert.equal(data.length, values.length);
    for (let i = 0; i < values.length; i++) assert.ok(Math.abs(data[i]! - values[i]!) <= 1e-7, `value ${i}`);
  });

  it('stores rows little-endian in row-major order', () => {
    const bytes = encodeNpy(Float32Array.from([1, 2, 3, 4, 5, 6]), 2, 3);
    const { dataStart } = headerOf(bytes);
    assert.equal(bytes.readFloatLE(dataStart + 3 * 4), 4); // row 1, column 0
  });

  it('writes a zero-row file with shape (0, D) and no data bytes', () => {
    const bytes = encodeNpy(new Float32Array(0), 0, 2048);
    const { text, dataStart } = headerOf(bytes);
    assert.match(text, /'shape': \(0, 2048\)/);
    assert.equal(bytes.length, dataStart);
    assert.deepEqual(readNpy(bytes).shape, [0, 2048]);
  });

  it('encodes a subarray view of a larger buffer from its own offset', () => {
    const backing = ramp(20);
    const view = backing.subarray(8, 14);
    const data = readNpy(encodeNpy(view, 2, 3)).data as Float32Array;
    assert.deepEqual([...data], [...view]);
  });

  it('refuses a value count that does not match rowCount times width', () => {
    assert.throws(
      () => encodeNpy(new Float32Array(10), 3, 4),
      /expected rowCount \* width = 3 \* 4 = 12 floats, received 10/,
    );
  });

  it('refuses a width of zero', () => {
    assert.throws(() => encodeNpy(new Float32Array(0), 0, 0), /width must be a positive integer/);
  });
});
