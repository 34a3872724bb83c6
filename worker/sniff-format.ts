/**
 * Names the format of image bytes from their first bytes (magic numbers), before any decoder sees
 * them. It is an allowlist of raster formats: libvips, under sharp, would also open SVG through
 * librsvg, which resolves references to other files and URLs, and it picks its loader from the
 * bytes, not from the file name. Only bytes that start like one of the formats below ever reach
 * sharp, so a loader added in a later libvips build is never reached by accident either.
 */

/** A raster format decodeImage accepts, spelled as sharp's metadata().format spells it. */
export type RasterFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'heif';

export type SniffResult =
  | { accepted: true; format: RasterFormat }
  /** `looksLike` describes the bytes in words for the error message, e.g. 'SVG', 'text ("hello")'. */
  | { accepted: false; looksLike: string };

/** For messages: what a person would call the accepted formats ('heif' is AVIF in sharp's prebuilt libvips). */
export const ACCEPTED_FORMATS_IN_WORDS = 'JPEG, PNG, WebP, GIF, TIFF or AVIF';

const RASTER_SIGNATURES: ReadonlyArray<{ format: RasterFormat; at: number; bytes: readonly number[] }> = [
  { format: 'jpeg', at: 0, bytes: [0xff, 0xd8, 0xff] },
  { format: 'png', at: 0, bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { format: 'gif', at: 0, bytes: ascii('GIF87a') },
  { format: 'gif', at: 0, bytes: ascii('GIF89a') },
  { format: 'tiff', at: 0, bytes: [0x49, 0x49, 0x2a, 0x00] }, // little-endian
  { format: 'tiff', at: 0, bytes: [0x4d, 0x4d, 0x00, 0x2a] }, // big-endian
  { format: 'tiff', at: 0, bytes: [0x49, 0x49, 0x2b, 0x00] }, // BigTIFF, little-endian
  { format: 'tiff', at: 0, bytes: [0x4d, 0x4d, 0x00, 0x2b] }, // BigTIFF, big-endian
];

/** Formats recognised only to name them in the refusal; none of them is decoded. */
const REFUSED_SIGNATURES: ReadonlyArray<{ name: string; at: number; bytes: readonly number[] }> = [
  { name: 'PDF', at: 0, bytes: ascii('%PDF') },
  { name: 'BMP', at: 0, bytes: ascii('BM') },
  { name: 'Photoshop PSD', at: 0, bytes: ascii('8BPS') },
  { name: 'JPEG XL', at: 0, bytes: [0xff, 0x0a] },
  { name: 'JPEG XL', at: 4, bytes: ascii('JXL ') },
  { name: 'JPEG 2000', at: 4, bytes: ascii('jP  ') },
  { name: 'gzip-compressed data (SVGZ?)', at: 0, bytes: [0x1f, 0x8b] },
];

const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']);

/** How far into text to look for an `<svg` root: past an XML declaration, comments and a DOCTYPE. */
const SVG_SEARCH_BYTES = 4096;

export function sniffFormat(bytes: Uint8Array): SniffResult {
  for (const signature of RASTER_SIGNATURES) {
    if (startsWith(bytes, signature.at, signature.bytes)) return { accepted: true, format: signature.format };
  }
  if (startsWith(bytes, 0, ascii('RIFF')) && startsWith(bytes, 8, ascii('WEBP')))
    return { accepted: true, format: 'webp' };
  if (startsWith(bytes, 4, ascii('ftyp'))) return sniffIsoMedia(bytes);
  for (const signature of REFUSED_SIGNATURES) {
    if (startsWith(bytes, signature.at, signature.bytes)) return { accepted: false, looksLike: signature.name };
  }
  return { accepted: false, looksLike: describeUnknown(bytes) };
}

/**
 * AVIF and HEIC share the ISO media container; the brands in its ftyp box tell them apart.
 * sharp's prebuilt libheif decodes AVIF only (HEVC is patent-encumbered), so HEIC is refused
 * here with a clear reason instead of failing later inside libheif.
 */
function sniffIsoMedia(bytes: Uint8Array): SniffResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxEnd = Math.min(bytes.length >= 4 ? view.getUint32(0) : 0, bytes.length, 256);
  const brands: string[] = [];
  for (let offset = 8; offset + 4 <= boxEnd; offset += 4) {
    if (offset !== 12) brands.push(latin1(bytes, offset, 4)); // bytes 12-15 are the minor version
  }
  if (brands.some((brand) => AVIF_BRANDS.has(brand))) return { accepted: true, format: 'heif' };
  if (brands.some((brand) => HEIC_BRANDS.has(brand))) {
    return { accepted: false, looksLike: 'HEIC (this build of sharp decodes AVIF but not HEVC-coded HEIC)' };
  }
  return { accepted: false, looksLike: `ISO media, not an image (brands ${brands.join(', ')})` };
}

function describeUnknown(bytes: Uint8Array): string {
  const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, SVG_SEARCH_BYTES));
  const printable =
    /^[\s\u0020-\u007e\u00a0-\uffff]*$/u.test(head.slice(0, 256)) && !head.slice(0, 256).includes('\ufffd');
  if (printable) {
    if (/^\ufeff?\s*</u.test(head) && /<svg[\s>]/iu.test(head)) return 'SVG';
    const excerpt = head.trim().slice(0, 40).replace(/\s+/gu, ' ');
    return `text ("${excerpt}")`;
  }
  const hex = Array.from(bytes.subarray(0, 8), (byte) => byte.toString(16).padStart(2, '0')).join(' ');
  return `no known image format (first bytes ${hex})`;
}

function startsWith(bytes: Uint8Array, at: number, expected: readonly number[]): boolean {
  if (bytes.length < at + expected.length) return false;
  return expected.every((byte, index) => bytes[at + index] === byte);
}

function ascii(text: string): number[] {
  return Array.from(text, (char) => char.charCodeAt(0));
}

function latin1(bytes: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + length));
}
