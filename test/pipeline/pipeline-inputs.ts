import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { joinUri } from '../../shared/storage/uri.ts';
import { copyFixtures } from '../harness/fixtures.ts';

/**
 * The input set of the end-to-end tests: the 11 fixture images (two of which fail to decode:
 * truncated.jpg and multipage_rgb.tif, see test/fixtures/images/README.md) plus a zero-byte .jpg
 * and a text file named .jpg, which the producer keeps (by name) and the worker turns into rows.
 */

/** Expected error code (the start of the error text) of each input that is not a good image. */
export const EXPECTED_ERRORS: Readonly<Record<string, string>> = {
  'empty.jpg': 'EMPTY',
  'diary.jpg': 'UNSUPPORTED_FORMAT',
  'truncated.jpg': 'DECODE_FAILED',
  'multipage_rgb.tif': 'DECODE_FAILED',
};

/** ImageNet classes that count as "a cat" for chelsea.png. */
export const CAT_CLASSES: readonly string[] = ['Egyptian_cat', 'tabby', 'tiger_cat'];

/** Writes the input set into `folder` (created); returns the file names, sorted. */
export async function stageInputs(folder: string): Promise<string[]> {
  await copyFixtures(folder);
  await writeFile(join(folder, 'empty.jpg'), Buffer.alloc(0));
  await writeFile(join(folder, 'diary.jpg'), 'Dear diary, today I saved a letter as a JPEG.\n');
  return (await readdir(folder)).sort();
}

/** Copies the staged files `names` of `folder` under the store prefix `prefixUri`. */
export async function uploadInputs(
  store: ObjectStore,
  prefixUri: string,
  folder: string,
  names: readonly string[],
): Promise<void> {
  for (const name of names) await store.write(joinUri(prefixUri, name), await readFile(join(folder, name)));
}
