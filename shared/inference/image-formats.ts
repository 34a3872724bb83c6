import sharp from 'sharp';

/**
 * The image formats the pipeline takes, judged by file name only: submit keeps the listed files
 * whose names pass (producer/select-images.ts) and `classify` picks them out of folders.
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
export function decodableSuffixes(
  formats: Partial<Record<string, FormatInfo>> = sharp.format as unknown as Record<string, FormatInfo>,
): string[] {
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
