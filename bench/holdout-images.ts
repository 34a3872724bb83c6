import { execFile } from 'node:child_process';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { cacheRoot } from '../model/model-cache.ts';
import type { BenchImage } from './bench-images.ts';

const run = promisify(execFile);

/**
 * The held-out set of the int8 accuracy figures: real photographs that Debian packages ship
 * (fetched with `apt-get download`, unpacked with `dpkg -x` into the cache, never committed), none
 * of them in the default calibration set (model/calibration-set.ts, built from the five fixture
 * photos). Each photo gives VARIANTS_PER_PHOTO deterministic variants (the whole picture, crops at
 * two scales, greyscale, a colour shift, a mirrored brighter crop), so the ~90 photos make 500+
 * images: different photos, not crops of five.
 *
 * The photos: OpenCV's sample data (aerial views, fruit, a baboon, buildings, a butterfly, sport,
 * street scenes, scene text, a sudoku, a painting), KDE Plasma's and MATE's nature wallpapers,
 * two Lomiri and several UKUI photos, and scikit-learn's two sample images. Graphic wallpapers
 * (gradients, stripes, logos) are left out: the figures are about photos.
 */
export const HOLDOUT_PACKAGES = [
  'opencv-doc',
  'plasma-workspace-wallpapers',
  'mate-backgrounds',
  'ukui-wallpapers',
  'lomiri-wallpapers-20.04',
  'python3-sklearn',
] as const;

const OPENCV = 'usr/share/doc/opencv-doc/examples';
const PHOTOS: readonly RegExp[] = [
  new RegExp(
    `^${OPENCV}/data/(aero1|aero3|apple|baboon|board|building|butterfly|fruits|home|leuvenA|messi5|orange|squirrel_cls|starry_night|ela_original|pca_test1|licenseplate_motion|text_defocus)\\.jpg$`,
  ),
  new RegExp(
    `^${OPENCV}/data/(basketball1|chicky_512|smarties|rubberwhale1|pic2|pic4|sudoku|box_in_scene|cards|graf1)\\.png$`,
  ),
  new RegExp(
    `^${OPENCV}/(alphamat/input_images/plant\\.jpg|hfs/data/000\\.jpg|text/scenetext0[1-6]\\.jpg|fuzzy/input\\.png)$`,
  ),
  /^usr\/share\/backgrounds\/mate\/nature\/[^/]+\.jpg$/,
  /^usr\/share\/backgrounds\/(Infinite-Sea_by_Aury88|Kleiber_by_Lukas_Baubkus|Painting-Colors_by__herobrine7gamer|2004default|firstgeneration|the-mouse|rhythm|string)\.jpg$/,
  /^usr\/share\/backgrounds\/(calla|goldfish|city|desert)\.png$/,
  /^usr\/lib\/python3\/dist-packages\/sklearn\/datasets\/images\/(china|flower)\.jpg$/,
];
/** Plasma wallpapers: one picture per wallpaper folder, its largest. */
const PLASMA = /^usr\/share\/wallpapers\/([^/]+)\/contents\/images\/[^/]+\.(jpg|png)$/;

export const VARIANTS_PER_PHOTO = 6;

export interface Holdout {
  images: BenchImage[];
  photos: number;
}

/** The held-out images, or a reason why they cannot be had here (no apt-get, no network). */
export async function holdoutImages(): Promise<Holdout | { unavailable: string }> {
  const root = join(cacheRoot(), 'bench-holdout');
  try {
    await unpackPackages(root);
  } catch (error) {
    return {
      unavailable: `the Debian packages of the held-out photos could not be fetched (${(error as Error).message.split('\n')[0]})`,
    };
  }
  const photos = await selectPhotos(join(root, 'tree'));
  const images: BenchImage[] = [];
  for (const [index, photo] of photos.entries()) {
    for (let variant = 0; variant < VARIANTS_PER_PHOTO; variant += 1)
      images.push({ name: `${index}-${variant}.jpg`, bytes: await variantOf(photo, variant, index) });
  }
  return { images, photos: photos.length };
}

/** apt-get download + dpkg -x into `<root>/tree`, once: the tree is renamed into place when complete. */
async function unpackPackages(root: string): Promise<void> {
  const tree = join(root, 'tree');
  if (await stat(tree).catch(() => undefined)) return;
  const staging = join(root, `staging-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'tree'), { recursive: true });
  await run('apt-get', ['download', ...HOLDOUT_PACKAGES], { cwd: staging, maxBuffer: 1 << 24 });
  for (const deb of (await readdir(staging)).filter((name) => name.endsWith('.deb')))
    await run('dpkg', ['-x', join(staging, deb), join(staging, 'tree')]);
  await rename(join(staging, 'tree'), tree);
  await rm(staging, { recursive: true, force: true });
}

async function selectPhotos(tree: string): Promise<string[]> {
  const files = (await readdir(tree, { recursive: true })).map((path) => String(path)).sort();
  const chosen = files.filter((path) => PHOTOS.some((pattern) => pattern.test(path)));
  const plasma = new Map<string, { path: string; size: number }>();
  for (const path of files) {
    const folder = PLASMA.exec(path)?.[1];
    if (!folder) continue;
    const { size } = await stat(join(tree, path));
    if (size > (plasma.get(folder)?.size ?? -1)) plasma.set(folder, { path, size });
  }
  return [...chosen, ...[...plasma.values()].map((entry) => entry.path)].map((path) => join(tree, path));
}

/** Variant `variant` of a photo, shorter side 480 (phone-sized JPEGs would only slow the decoder down here). */
async function variantOf(path: string, variant: number, seed: number): Promise<Buffer> {
  const { width = 0, height = 0 } = await sharp(path).metadata();
  const crop = (keep: number, shift: number) => {
    const side = Math.floor(Math.min(width, height) * keep);
    const left = Math.floor(((width - side) * ((seed * 7 + shift) % 10)) / 9);
    const top = Math.floor(((height - side) * ((seed * 3 + shift) % 10)) / 9);
    return { left, top, width: side, height: side };
  };
  let image = sharp(path).flatten({ background: '#ffffff' });
  if (variant === 1) image = image.extract(crop(0.7, 1));
  if (variant === 2) image = image.extract(crop(0.45, 2)).flop();
  if (variant === 3) image = image.greyscale();
  if (variant === 4) image = image.modulate({ hue: seed % 2 === 0 ? 25 : -25, saturation: 1.3 });
  if (variant === 5) image = image.extract(crop(0.85, 5)).flop().modulate({ brightness: 1.15 });
  return image.resize(480, 480, { fit: 'outside' }).jpeg({ quality: 90 }).toBuffer();
}
