import { decodableNameTest } from '../shared/inference/image-formats.ts';
import type { ObjectInfo } from '../shared/storage/object-store.ts';
import { namesTellFormat } from '../shared/storage/uri.ts';

/**
 * Stage 2 of submit: keep the files sharp can decode, judged by name only (no bytes are read at
 * submit, see shared/inference/image-formats.ts). A file that is kept but turns out not to be an image (a
 * text file named .jpg, a truncated JPEG, an empty object) still gets a metadata row with its
 * error from the worker; a file that is not kept is only counted.
 *
 * Web URLs are all kept: their names often end in an id or a query (`/photo?id=3`, `/a.jpg?w=800`)
 * rather than a format, and a list of URLs is a list someone made of images; the worker judges
 * the bytes (worker/sniff-format.ts), so a page that is not an image is an UNSUPPORTED_FORMAT row.
 *
 * Yields each page's decodable objects (empty pages are dropped) and reports the others.
 */
export async function* selectImages<T extends ObjectInfo>(
  pages: AsyncIterable<T[]>,
  onSkip: (info: T) => void = () => undefined,
  isDecodable: (uri: string) => boolean = decodableNameTest(),
): AsyncGenerator<T[]> {
  for await (const page of pages) {
    const kept = page.filter((info) => {
      if (isDecodable(info.uri) || !namesTellFormat(info.uri)) return true;
      onSkip(info);
      return false;
    });
    if (kept.length > 0) yield kept;
  }
}
