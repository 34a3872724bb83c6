import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a manifest stream into lines without ever holding more than one line (capped) in memory.
 * node:readline would buffer a line of any length, so a manifest with a 2 GB line and no newline
 * would take the producer down; here a line over `maxLineBytes` is reported as too long, and its
 * remaining bytes are dropped as they stream past.
 *
 * Lines end at '\n'; a trailing '\r' is removed (Windows manifests) and so is a UTF-8 byte order
 * mark on the first line. Line numbers start at 1, as editors show them.
 */
export type ManifestLine =
  | { number: number; text: string; tooLong?: undefined }
  | { number: number; tooLong: true; bytes: number };

/** Longest manifest line kept, in bytes. 8 KiB holds any URI S3 accepts (1 KiB keys) plus JSON fields. */
export const DEFAULT_MAX_LINE_BYTES = 8 * 1024;

const NEWLINE = 0x0a;

export async function* manifestLines(
  chunks: AsyncIterable<Buffer | string>,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<ManifestLine> {
  let parts: Buffer[] = [];
  let length = 0;
  let number = 1;

  const finish = (): ManifestLine => {
    const line: ManifestLine =
      length > maxLineBytes
        ? { number, tooLong: true, bytes: length }
        : { number, text: decode(Buffer.concat(parts), number) };
    parts = [];
    length = 0;
    number += 1;
    return line;
  };

  for await (const raw of chunks) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      // Past the cap only the length is tracked, so memory stays at maxLineBytes per line.
      if (length + (end - start) <= maxLineBytes) parts.push(chunk.subarray(start, end));
      else parts = [];
      length += end - start;
      if (newline === -1) break;
      yield finish();
      start = newline + 1;
    }
  }
  if (length > 0) yield finish();
}

function decode(bytes: Buffer, number: number): string {
  let text = new StringDecoder('utf8').end(bytes);
  if (number === 1 && text.startsWith('\uFEFF')) text = text.slice(1);
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}
