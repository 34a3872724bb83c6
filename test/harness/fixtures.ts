import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The fixture images (test/fixtures/images, described in its README.md) as tests use them:
 * read, or copied into a test's own folder, never written in place.
 */

/** The folder of the fixture images, for tests that give a command the whole folder as input. */
export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/images/', import.meta.url));

/** Fixture photos that decode with the real model (see test/fixtures/images/README.md). */
export const PHOTOS: readonly string[] = ['chelsea.png', 'coffee.png', 'rocket.jpg', 'horse.png', 'green_palette.png'];

/** The path of the fixture image `name`. */
export function fixturePath(name: string): string {
  return join(FIXTURES_DIR, name);
}

export function readFixture(name: string): Promise<Buffer> {
  return readFile(fixturePath(name));
}

/** Every fixture image's name (the README left out), sorted. */
export async function fixtureNames(): Promise<string[]> {
  return (await readdir(FIXTURES_DIR)).filter((name) => name !== 'README.md').sort();
}

/** Copies the fixture images `names` (default: all of them) into `folder` (created); resolves with `folder`. */
export async function copyFixtures(folder: string, names?: readonly string[]): Promise<string> {
  await mkdir(folder, { recursive: true });
  for (const name of names ?? (await fixtureNames())) await copyFile(fixturePath(name), join(folder, name));
  return folder;
}

/** Writes `count` copies of the fixture photos into `folder` as img-00000.<ext>...; returns the names, sorted. */
export async function stagePhotoCopies(folder: string, count: number, namePrefix = 'img'): Promise<string[]> {
  await mkdir(folder, { recursive: true });
  for (let index = 0; index < count; index += 1) {
    const photo = PHOTOS[index % PHOTOS.length]!;
    await copyFile(
      fixturePath(photo),
      join(folder, `${namePrefix}-${String(index).padStart(5, '0')}${photo.slice(photo.lastIndexOf('.'))}`),
    );
  }
  return (await readdir(folder)).sort();
}
