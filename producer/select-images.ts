import sharp from 'sharp';
import type { ObjectInfo } from '../shared/storage/object-store.ts';

/**
 * Stage 2 of submit: keep the files sharp can decode, judged by name only (no bytes are read at
 * submit). A file that is kept but turns out not to be an image (a text file named .jpg, a
 * truncated JPEG, an empty object) still gets a metadata row with its error from the worker;
 * a file that is not kept is only counted.
 *
 * The extensions come from sharp itself: for each format below whose `sharp.format[id].input.file`
 * is true in the installed libvips, the suffixes sharp reports for it (`input.fileSuffix`), else
 * the fallback list here. So an image type the installed sharp cannot read is skipped instead of
 * queued for a certain decode failure; e.g. the prebuilt libvips reads AVIF but not HEVC, and its
 * heif loader accordingly reports '.avif' only.
 */
export type DecodableFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'heif' | 'jp2' | 'jxl';

/**
 * Formats kept, with fallback suffixes used when sharp does not list any. Deliberately absent:
 *   svg  refused for security: it can reference external files and entities (and the worker
 *        refuses it too, as UNSUPPORTED_FORMAT);
 *   pdf  a document, not an image;
 *   vips, fits, ppm, rad, raw, dcraw, openslide, magick, dz: not photographs a classifier is
 *        meant for, or suffixes ('.v') that clash with source files.
 */
export const DECODABLE_FORMATS: Readonly<Record<DecodableFormat, readonly string[]>> = {
  jpeg: ['.jpg', '.jpeg', '.jpe', '.jfif'],
  png: ['.png'],
  webp: ['.webp'],
  gif: ['.gif'],
  tiff: ['.tif', '.tiff'],
  heif: ['.avif', '.heic', '.heif'],
  jp2: ['.jp2', '.j2k', '.jpx', '.j2c', '.jpf'],
  jxl: ['.jxl'],
};

type FormatInfo = { input: { file: boolean; fileSuffix?: string[] } };

/** Lower-case suffixes (with the dot) of the formats the given sharp build reads from files. */
export function decodableSuffixes(formats: Partial<Record<string, FormatInfo>> = sharp.format as unknown as Record<string, FormatInfo>): string[] {
  const suffixes = new Set<string>();
  for (const [id, fallback] of Object.entries(DECODABLE_FORMATS)) {
    const info = formats[id];
    if (info?.input.file !== true) continue;
    const reported = info.input.fileSuffix ?? [];
    for (const suffix of reported.length > 0 ? reported : fallback) suffixes.add(suffix.toLowerCase());
  }
  return [...suffixes].sort();
}

/** Returns a predicate on URIs: true when the name ends with a decodable suffix (any case). */
export function decodableNameTest(suffixes: readonly string[] = decodableSuffixes()): (uri: string) => boolean {
  const wanted = new Set(suffixes);
  return (uri) => {
    const name = uri.slice(uri.lastIndexOf('/') + 1).toLowerCase();
    const dot = name.lastIndexOf('.');
    return dot > 0 && wanted.has(name.slice(dot));
  };
}

/** Yields each page's decodable objects (empty pages are dropped) and reports the others. */
export async function* selectImages(
  pages: AsyncIterable<ObjectInfo[]>,
  onSkip: (info: ObjectInfo) => void = () => undefined,
  isDecodable: (uri: string) => boolean = decodableNameTest(),
): AsyncGenerator<ObjectInfo[]> {
  for await (const page of pages) {
    const kept = page.filter((info) => {
      if (isDecodable(info.uri)) return true;
      onSkip(info);
      return false;
    });
    if (kept.length > 0) yield kept;
  }
}
