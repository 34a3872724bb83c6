/**
 * Says in words where a JPEG that libvips refused ends early. libvips keeps its error text in one
 * process-wide buffer that every decode thread clears, so under concurrent decodes a failed
 * JPEG can come back as "corrupt header" with the reason gone; decodeImage then asks this walk
 * of the marker segments, on the error path only. Damage inside complete entropy-coded data is
 * not found here.
 */

const START_OF_IMAGE = 0xd8;
const END_OF_IMAGE = 0xd9;
const START_OF_SCAN = 0xda;
/** Markers with no length field: TEM and RST0-RST7 (SOI and EOI are handled apart). */
const STANDALONE_MARKERS = new Set([0x01, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7]);

/** Returns the truncation found, or undefined when the segments and an end-of-image marker are all there. */
export function describeJpegDamage(bytes: Uint8Array): string | undefined {
  if (bytes[0] !== 0xff || bytes[1] !== START_OF_IMAGE) return 'it does not start with a JPEG start-of-image marker';
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) return `byte ${offset} should start a marker segment but does not: the file is corrupt`;
    const marker = bytes[offset + 1] ?? 0;
    if (marker === 0xff) {
      offset += 1; // fill byte before a marker
      continue;
    }
    if (marker === END_OF_IMAGE) return 'it ends before its first scan (an end-of-image marker and no pixel data)';
    if (STANDALONE_MARKERS.has(marker)) {
      offset += 2;
      continue;
    }
    const length = ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0);
    const end = offset + 2 + length;
    if (end > bytes.length) {
      return `premature end of JPEG image: the file ends inside its ${markerName(marker)} segment at byte ${offset} (${bytes.length - offset} of ${end - offset} bytes present): it is truncated`;
    }
    if (marker === START_OF_SCAN) return hasEndOfImage(bytes, end) ? undefined : noEndOfImage(bytes.length);
    offset = end;
  }
  return `premature end of JPEG image: the file ends after ${bytes.length} bytes, before its first scan: it is truncated`;
}

/** Entropy-coded data escapes 0xFF as 0xFF 0x00, so 0xFF 0xD9 after the first scan is the end marker. */
function hasEndOfImage(bytes: Uint8Array, from: number): boolean {
  for (let index = bytes.length - 2; index >= from; index -= 1) {
    if (bytes[index] === 0xff && bytes[index + 1] === END_OF_IMAGE) return true;
  }
  return false;
}

function noEndOfImage(length: number): string {
  return `premature end of JPEG image: the file ends after ${length} bytes inside its pixel data, with no end-of-image marker: it is truncated`;
}

function markerName(marker: number): string {
  if (marker >= 0xe0 && marker <= 0xef) return `APP${marker - 0xe0}`;
  const names: Record<number, string> = {
    192: 'SOF0',
    194: 'SOF2',
    196: 'DHT',
    219: 'DQT',
    221: 'DRI',
    218: 'SOS',
    254: 'COM',
  };
  return names[marker] ?? `0xFF${marker.toString(16).toUpperCase()}`;
}
