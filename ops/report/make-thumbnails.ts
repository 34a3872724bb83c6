import sharp from 'sharp';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import type { Thumbnail } from './report-data.ts';
import type { SampleCandidate } from './run-tally.ts';

export interface ThumbnailOptions {
  /** Opens the store of an image URI (shared/storage/open-store.ts openStore in production). */
  openStore: (uri: string) => ObjectStore;
  /** Edge of the square thumbnail in pixels. Default 96: six fit a row on a laptop screen. */
  sizePx?: number;
  /**
   * Budget of all thumbnails together, in bytes of JPEG before base64 (which adds a third).
   * Default 2 MiB: about 500 thumbnails of 96 px, far more than the report asks for, so the
   * budget only bites on odd images; the page stays small enough to mail or attach to a ticket.
   */
  maxTotalBytes?: number;
  /** Largest source image fetched, in bytes (the pipeline's MAX_IMAGE_BYTES). */
  maxImageBytes: number;
  /** Largest source image decoded, width x height (the pipeline's MAX_IMAGE_PIXELS). */
  maxImagePixels: number;
  /** Images fetched and resized at once. Default 4. */
  concurrency?: number;
}

export interface ThumbnailBatch {
  /** Same order as the input lists; images that failed or went over budget are left out. */
  thumbnails: Thumbnail[][];
  omitted: number;
}

/**
 * Small JPEG thumbnails (data: URIs) of sample images, fetched again from their storage. An image
 * that is gone, unreadable or over budget is left out and counted: a report of a finished run
 * must not fail because its inputs were cleaned up.
 */
export async function makeThumbnails(groups: SampleCandidate[][], options: ThumbnailOptions): Promise<ThumbnailBatch> {
  const sizePx = options.sizePx ?? 96;
  let budget = options.maxTotalBytes ?? 2 * 1024 * 1024;
  const jobs = groups.flatMap((group, g) => group.map((candidate, i) => ({ candidate, g, i })));
  const made: (Thumbnail | null)[][] = groups.map((group) => group.map(() => null));
  let next = 0;
  const workerLoop = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      const jpeg = await thumbnailJpeg(job.candidate.uri, sizePx, options);
      if (jpeg === null || jpeg.length > budget) continue;
      budget -= jpeg.length;
      made[job.g]![job.i] = {
        uri: job.candidate.uri,
        score: job.candidate.score,
        dataUri: `data:image/jpeg;base64,${jpeg.toString('base64')}`,
      };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, workerLoop));
  const thumbnails = made.map((group) => group.filter((thumb): thumb is Thumbnail => thumb !== null));
  return { thumbnails, omitted: jobs.length - thumbnails.reduce((sum, group) => sum + group.length, 0) };
}

async function thumbnailJpeg(uri: string, sizePx: number, options: ThumbnailOptions): Promise<Buffer | null> {
  const store = options.openStore(uri);
  try {
    const bytes = await store.read(uri, { maxBytes: options.maxImageBytes });
    return await sharp(bytes, { limitInputPixels: options.maxImagePixels, failOn: 'none' })
      .rotate()
      .resize(sizePx, sizePx, { fit: 'cover' })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .jpeg({ quality: 72, mozjpeg: true })
      .toBuffer();
  } catch {
    // Counted as omitted by the caller; the page says how many, which is all a reader can act on.
    return null;
  } finally {
    await store.close();
  }
}
