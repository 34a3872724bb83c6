/**
 * Says in words what is wrong with a PNG that libpng refused. libvips reports every libpng failure
 * as "libpng read error" and drops libpng's own reason, so decodeImage walks the chunks here,
 * on the error path only, to name the damage: a chunk with a bad CRC, or a file that ends early.
 * Damage inside the compressed pixel data with intact CRCs is not found here; the caller then
 * keeps libvips' words.
 */

const PNG_SIGNATURE_LENGTH = 8;
/** Chunk length (4 bytes) + type (4 bytes) before the data, CRC (4 bytes) after it. */
const CHUNK_OVERHEAD = 12;
/** The PNG spec caps chunk lengths at 2^31 - 1. */
const MAX_CHUNK_LENGTH = 0x7fffffff;

/** Returns the first damage found, or undefined when every chunk is whole and its CRC matches. */
export function describePngDamage(bytes: Uint8Array): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = PNG_SIGNATURE_LENGTH;
  while (offset + 8 <= bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    if (length > MAX_CHUNK_LENGTH)
      return `the chunk at byte ${offset} declares an impossible length of ${length} bytes`;
    const end = offset + CHUNK_OVERHEAD + length;
    if (end > bytes.length) {
      return `the file ends inside its ${type} chunk at byte ${offset} (${bytes.length - offset} of ${end - offset} bytes present): it is truncated`;
    }
    const stored = view.getUint32(end - 4);
    const computed = crc32(bytes.subarray(offset + 4, end - 4));
    if (stored !== computed) {
      return `its ${type} chunk at byte ${offset} has a bad CRC (stored ${hex(stored)}, computed ${hex(computed)}): the file is corrupt`;
    }
    if (type === 'IEND') return undefined;
    offset = end;
  }
  return `the file ends after ${bytes.length} bytes without an IEND chunk: it is truncated`;
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, index) => {
  let crc = index;
  for (let bit = 0; bit < 8; bit += 1) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  return crc >>> 0;
});

/** CRC-32 as PNG defines it (ISO 3309). zlib.crc32 would do, but needs Node >= 20.15. */
function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
