/**
 * The images `calibrate` and `evaluate` read: the first N image files of a folder, an s3://
 * prefix or a manifest, in listing (key) order, listed and selected exactly as submit does
 * (producer/list-inputs.ts, select-images.ts), so the same input means the same files.
 * Key order makes the sample repeatable; to sample a large collection evenly, point the command
 * at a prefix or a manifest that holds the sample.
 */
import { openListing } from '../../producer/list-inputs.ts';
import { selectImages } from '../../producer/select-images.ts';
import { ConfigError, describeError } from '../../shared/errors.ts';
import { openStore } from '../../shared/storage/open-store.ts';

export interface SampledImage {
  uri: string;
  bytes: Buffer;
}

export interface SampleOptions {
  /** At most this many images. */
  count: number;
  /** Larger objects are left out (MAX_IMAGE_BYTES). */
  maxBytes: number;
}

/** Reads the sample; an unreadable object is left out, and at least one image must remain. */
export async function sampleImages(input: string, options: SampleOptions): Promise<SampledImage[]> {
  const listing = await openListing(input, { openStore });
  const sample: SampledImage[] = [];
  const stores = new Map<string, ReturnType<typeof openStore>>();
  try {
    for await (const page of selectImages(listing.pages)) {
      for (const info of page) {
        if (sample.length >= options.count) break;
        // One store per bucket (or the local disk), not one client per image.
        const where = storeKey(info.uri);
        const store = stores.get(where) ?? openStore(info.uri);
        stores.set(where, store);
        const bytes = await store.read(info.uri, { maxBytes: options.maxBytes }).catch(() => undefined);
        if (bytes) sample.push({ uri: info.uri, bytes });
      }
      if (sample.length >= options.count) break;
    }
  } catch (error) {
    throw new ConfigError(`cannot read images from ${input} (${describeError(error)}); check the URI and credentials`, {
      cause: error,
    });
  } finally {
    await listing.close();
    await Promise.all([...stores.values()].map((store) => store.close()));
  }
  if (sample.length === 0)
    throw new ConfigError(
      `${input} holds no readable image files; point it at a folder or prefix of JPEG, PNG or WebP images`,
    );
  return sample;
}

function storeKey(uri: string): string {
  const url = new URL(uri);
  return `${url.protocol}//${url.host}`;
}
