import { endianness } from 'node:os';

/**
 * Encodes a shard's embeddings as a NumPy .npy file (format version 1.0), the exact bytes
 * `np.save(f, array.astype('<f4'))` writes for a C-ordered 2-D array, so that `np.load`,
 * embedding-reader and FAISS read it without options. Spec:
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 *
 * Layout: magic "\x93NUMPY", version bytes 1 0, header length (uint16 little-endian), then an
 * ASCII Python dict literal padded with spaces and ended by '\n' so that the data starts at a
 * multiple of 64 bytes, then rowCount * width little-endian float32 values, row-major.
 *
 * `rows` holds exactly rowCount * width values, row i at [i * width, (i + 1) * width).
 * rowCount may be 0 (a shard whose images all failed): the file then has shape (0, width) and
 * no data bytes, which np.load returns as an empty (0, width) float32 array.
 */
export function encodeNpy(rows: Float32Array, rowCount: number, width: number): Buffer {
  checkShape(rows, rowCount, width);
  const header = npyHeader(rowCount, width);
  const data = Buffer.allocUnsafe(rows.length * 4);
  if (endianness() === 'LE') {
    data.set(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength));
  } else {
    // The header promises '<f4' on every host, so a big-endian host swaps each value.
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (let i = 0; i < rows.length; i++) view.setFloat32(i * 4, rows[i]!, true);
  }
  return Buffer.concat([header, data]);
}

/** Bytes before the data: magic, version, header length and the padded header dict. */
function npyHeader(rowCount: number, width: number): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rowCount}, ${width}), }`;
  const preamble = NPY_MAGIC.length + 2 + 2; // magic, version, uint16 header length
  const unpadded = preamble + dict.length + 1; // + the closing '\n'
  const total = Math.ceil(unpadded / NPY_ALIGNMENT) * NPY_ALIGNMENT;
  const headerText = `${dict + ' '.repeat(total - unpadded)}\n`;
  const header = Buffer.alloc(total);
  NPY_MAGIC.copy(header, 0);
  header[NPY_MAGIC.length] = 1; // major version
  header[NPY_MAGIC.length + 1] = 0; // minor version
  header.writeUInt16LE(headerText.length, NPY_MAGIC.length + 2);
  header.write(headerText, preamble, 'latin1');
  return header;
}

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"
// numpy >= 1.x aligns the data to 64 bytes so it can be memory-mapped with any SIMD alignment.
const NPY_ALIGNMENT = 64;

function checkShape(rows: Float32Array, rowCount: number, width: number): void {
  if (!Number.isSafeInteger(rowCount) || rowCount < 0) {
    throw new RangeError(`encodeNpy: rowCount must be a non-negative integer (got ${rowCount})`);
  }
  if (!Number.isSafeInteger(width) || width <= 0) {
    throw new RangeError(`encodeNpy: width must be a positive integer, the embedding size (got ${width})`);
  }
  if (rows.length !== rowCount * width) {
    throw new RangeError(
      `encodeNpy: expected rowCount * width = ${rowCount} * ${width} = ${rowCount * width} floats, ` +
        `received ${rows.length}; pass exactly the ok rows of the shard`,
    );
  }
}
