/**
 * Image bytes -> the input of the Keras ResNet-50 ImageNet weights, in one sharp pipeline per
 * image: sniff the format (refusing SVG and anything that is not an accepted raster format),
 * read the header and refuse decompression bombs, then decode the first frame or page, apply
 * EXIF orientation, flatten alpha onto white, convert to 8-bit sRGB, resize the shorter side to 256, crop the
 * centre 224x224 and turn the bytes into BGR floats minus the ImageNet means.
 *
 * Every failure is an ImageError (EMPTY, UNSUPPORTED_FORMAT, TOO_MANY_PIXELS, DECODE_FAILED)
 * whose message carries the reason; nothing else escapes. Nothing global of sharp is set here:
 * sharp.concurrency and the cache are the worker's to choose.
 */
import sharp from 'sharp';
import { PREPROCESS } from '../model/preprocess-spec.ts';
import { ConfigError, ImageError } from '../shared/errors.ts';
import { describeJpegDamage } from './jpeg-damage.ts';
import { describePngDamage } from './png-damage.ts';
import { ACCEPTED_FORMATS_IN_WORDS, type RasterFormat, sniffFormat } from './sniff-format.ts';

export interface DecodeOptions {
  /**
   * Largest width x height accepted, in pixels of the first frame or page. Default 100,000,000
   * (a 10000x10000 image, about 300 MB as 8-bit RGB), the worker's MAX_IMAGE_PIXELS default.
   * It admits every phone and full-frame camera (50 MP phones, 61 MP full frame) and refuses
   * decompression bombs from the header alone, before any pixel is allocated. Raise it for
   * 100+ MP medium-format or stitched images, on workers with the memory for them.
   */
  maxPixels?: number;
  /**
   * How damaged the pixel data may be before decoding fails, as sharp's failOn. Default
   * 'warning', sharp's advice for untrusted input: a decoder warning about corrupt data fails the
   * image instead of embedding a picture with grey or smeared patches. 'error' also fails
   * truncated files and PNGs with a bad CRC (libpng raises those as errors) but lets warnings
   * through; 'truncated' fails only truncation, so a PNG with a bad IDAT CRC decodes. Lower it
   * only for a dataset known to hold many slightly damaged files that still look right.
   */
  failOn?: 'warning' | 'error' | 'truncated';
  /**
   * Seconds one decode may take before it fails with DECODE_FAILED. Default 30: a 100 MP PNG
   * decodes in a few seconds on one core, so this trips only on pathological input or a starved
   * host, and a worker is never stuck on one image. 0 waits for ever.
   */
  timeoutSeconds?: number;
}

export interface DecodedImage {
  /** cropSize x cropSize x 3 floats, NHWC row-major, BGR, ImageNet means subtracted, not scaled. */
  pixels: Float32Array;
  /** Width of the source image (first frame/page) after EXIF orientation, in pixels. */
  width: number;
  /** Height of the source image (first frame/page) after EXIF orientation, in pixels. */
  height: number;
  /** The decoder's format name as sharp gives it ('heif' for AVIF). */
  format: RasterFormat;
}

const DEFAULT_MAX_PIXELS = 100_000_000;
const DEFAULT_TIMEOUT_SECONDS = 30;

/**
 * Lanczos-3 is sharp's default and low-pass filters before reducing, like PIL's antialiased
 * resize; libvips shrinks JPEG and WebP on load first, so the kernel runs on a small image and
 * costs little.
 */
const RESIZE_KERNEL = 'lanczos3';

/**
 * Transparent pixels are composited onto white before resizing. PIL's convert('RGB') (behind
 * Keras' load_img) drops alpha and keeps whatever colour an encoder left under it; sharp cannot
 * do that in a resizing pipeline: its removeAlpha runs after a premultiplied resize, so fully
 * transparent areas turn black and half-transparent colours shift (200 -> 198, measured).
 * Flattening runs first, without premultiplication, gives what a viewer shows on a white page,
 * and does not depend on the hidden colours. On horse.png (RGBA) dropping alpha, flattening on
 * white and flattening on black give identical crops: only its 12 corner pixels are not opaque.
 */
const ALPHA_BACKGROUND = { r: 255, g: 255, b: 255 };

/** Decodes `bytes` into the model input. Rejects only with ImageError (or ConfigError for bad options). */
export async function decodeImage(bytes: Buffer, options: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  validateOptions(maxPixels, timeoutSeconds);
  if (bytes.length === 0) {
    throw new ImageError(
      'EMPTY',
      `image is empty (0 bytes); expected the bytes of a ${ACCEPTED_FORMATS_IN_WORDS} image; check that the upload or copy finished`,
    );
  }
  const sniffed = sniffFormat(bytes);
  if (!sniffed.accepted) throw unsupported(sniffed.looksLike);

  // pages: 1 reads only the first frame of an animation or the first page of a multi-page TIFF.
  // autoOrient applies the EXIF orientation. limitInputPixels makes libvips itself refuse an
  // oversized header too, in case the metadata check below is ever bypassed.
  const image = sharp(bytes, {
    failOn: options.failOn ?? 'warning',
    limitInputPixels: maxPixels,
    autoOrient: true,
    pages: 1,
  });
  try {
    const header = await image.metadata();
    if (header.format !== sniffed.format)
      throw unsupported(`${sniffed.format} at first sight, but libvips reads it as ${header.format}`);
    const { width, height } = header.autoOrient;
    if (width * height > maxPixels) throw tooManyPixels(width, height, maxPixels);
    const crop = centreCrop(width, height);
    const { data, info } = await image
      .flatten({ background: ALPHA_BACKGROUND })
      .toColourspace('srgb') // greyscale, palette, 16-bit and CMYK all become 8-bit sRGB with 3 bands
      .resize({
        width: PREPROCESS.resizeShorterSide,
        height: PREPROCESS.resizeShorterSide,
        fit: 'outside',
        kernel: RESIZE_KERNEL,
      })
      .extract(crop)
      .timeout({ seconds: timeoutSeconds })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const expected = PREPROCESS.cropSize * PREPROCESS.cropSize * 3;
    if (info.channels !== 3 || data.length !== expected) {
      throw new ImageError(
        'DECODE_FAILED',
        `decoder returned ${info.width}x${info.height}x${info.channels} (${data.length} bytes), expected ${PREPROCESS.cropSize}x${PREPROCESS.cropSize}x3 uchar; report this image as a bug`,
      );
    }
    return { pixels: toCaffeInput(data), width, height, format: sniffed.format };
  } catch (error) {
    throw await toImageError(error, bytes, sniffed.format, maxPixels);
  }
}

/**
 * Where the centred crop lies in the image once its shorter side is 256. The resized size is
 * predicted with the rounding libvips uses; where JPEG shrink-on-load rounds the longer side one
 * pixel differently the crop moves by half a pixel, and the margin (at least 16 pixels on each
 * side) keeps it inside the image. Cropping inside sharp keeps the full resized image from ever being
 * materialised, which matters for extreme aspect ratios (a 1x100000 strip resizes to 256x25.6M).
 */
function centreCrop(width: number, height: number): { left: number; top: number; width: number; height: number } {
  const scale = PREPROCESS.resizeShorterSide / Math.min(width, height);
  const resizedWidth = Math.max(PREPROCESS.resizeShorterSide, Math.round(width * scale));
  const resizedHeight = Math.max(PREPROCESS.resizeShorterSide, Math.round(height * scale));
  const size = PREPROCESS.cropSize;
  return {
    left: Math.floor((resizedWidth - size) / 2),
    top: Math.floor((resizedHeight - size) / 2),
    width: size,
    height: size,
  };
}

/** RGB bytes (HWC) -> BGR floats minus the means, the Keras 'caffe' preprocessing. */
function toCaffeInput(rgb: Uint8Array): Float32Array {
  const [meanB, meanG, meanR] = PREPROCESS.meanBGR;
  const out = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i += 3) {
    out[i] = (rgb[i + 2] ?? 0) - meanB;
    out[i + 1] = (rgb[i + 1] ?? 0) - meanG;
    out[i + 2] = (rgb[i] ?? 0) - meanR;
  }
  return out;
}

function validateOptions(maxPixels: number, timeoutSeconds: number): void {
  if (!Number.isSafeInteger(maxPixels) || maxPixels < 1) {
    throw new ConfigError(
      `decode option maxPixels must be a positive integer (got ${maxPixels}); set MAX_IMAGE_PIXELS like 100000000`,
    );
  }
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 0) {
    throw new ConfigError(
      `decode option timeoutSeconds must be a whole number of seconds, 0 or more (got ${timeoutSeconds}); use 30`,
    );
  }
}

function unsupported(looksLike: string): ImageError {
  const why = looksLike === 'SVG' ? ' (SVG is refused: rendering it can fetch the files and URLs it references)' : '';
  return new ImageError(
    'UNSUPPORTED_FORMAT',
    `image format not accepted: the bytes look like ${looksLike}${why}; expected ${ACCEPTED_FORMATS_IN_WORDS}; convert the file to PNG or JPEG`,
  );
}

function tooManyPixels(width: number, height: number, maxPixels: number): ImageError {
  const megapixels = (pixels: number): string => `${(pixels / 1e6).toFixed(1)} megapixels`;
  return new ImageError(
    'TOO_MANY_PIXELS',
    `image is ${width}x${height} (${megapixels(width * height)}), over the limit of ${megapixels(maxPixels)}; ` +
      'downscale it, or raise MAX_IMAGE_PIXELS if the worker has the memory for it',
  );
}

/** Maps whatever sharp threw onto an ImageError, with libvips' reason in plain words. */
async function toImageError(
  error: unknown,
  bytes: Buffer,
  format: RasterFormat,
  maxPixels: number,
): Promise<ImageError> {
  if (error instanceof ImageError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/exceeds pixel limit/iu.test(message)) {
    const header = await sharp(bytes, { limitInputPixels: false, autoOrient: true, pages: 1 })
      .metadata()
      .catch(() => undefined);
    return header
      ? tooManyPixels(header.autoOrient.width, header.autoOrient.height, maxPixels)
      : new ImageError('TOO_MANY_PIXELS', `${message}; downscale it, or raise MAX_IMAGE_PIXELS`, { cause: error });
  }
  if (/unsupported image format/iu.test(message))
    return new ImageError('UNSUPPORTED_FORMAT', unsupported(format).message, { cause: error });
  const reason = /^timeout:/iu.test(message)
    ? 'decoding took too long (over the timeout)'
    : plainReason(await withLibvipsReason(message, bytes), bytes, format);
  return new ImageError(
    'DECODE_FAILED',
    `could not decode the ${format} image (${bytes.length} bytes): ${reason}; expected a complete, valid ${format} file; ` +
      'it is truncated, corrupt or a variant libvips cannot read: fetch or export it again (as 8-bit RGB)',
    { cause: error },
  );
}

/**
 * libvips keeps error text in one process-wide buffer that other decode threads clear, so a
 * failure under concurrent decodes can arrive as a bare "Input buffer has corrupt header". The
 * header is read once more, alone, for libvips' own words; when that succeeds or says nothing
 * either, the first message stands and the format's structural check names the damage.
 */
async function withLibvipsReason(message: string, bytes: Buffer): Promise<string> {
  if (!REASONLESS_HEADER_ERROR.test(message.trim())) return message;
  const again = await sharp(bytes, { failOn: 'warning', limitInputPixels: false, pages: 1 })
    .metadata()
    .then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error.message : undefined),
    );
  return again !== undefined && !REASONLESS_HEADER_ERROR.test(again.trim()) ? again : message;
}

/** sharp's header error with libvips' lines missing. */
const REASONLESS_HEADER_ERROR = /^Input (?:buffer|file) has corrupt header:?\s*$/iu;

/** libvips' lines without loader prefixes ("VipsJpeg: ", "tiff2vips: ") and repeats, at most ~300 characters. */
function plainReason(message: string, bytes: Buffer, format: RasterFormat): string {
  const headerUnreadable = /corrupt header/iu.test(message);
  const lines = message
    .split('\n')
    .map((line) =>
      line
        .replace(/^Input (?:buffer|file) has corrupt header:\s*/iu, '')
        .replace(/^(?:[\w.]+: )+/u, '')
        .trim(),
    )
    .filter((line) => line.length > 0);
  let reason = [...new Set(lines)].join('; ');
  // libvips words a damaged PNG as "libpng read error" or, depending on where libpng notices it,
  // "Warning treated as error": the chunk walk names the damage whichever it said.
  if (format === 'png') reason = describePngDamage(bytes) ?? reason;
  if (reason.length === 0 && format === 'jpeg') reason = describeJpegDamage(bytes) ?? '';
  if (reason.length === 0) reason = 'libvips gave no reason';
  if (reason.length > 300) reason = `${reason.slice(0, 297)}...`;
  return headerUnreadable ? `its header is unreadable: ${reason}` : reason;
}
