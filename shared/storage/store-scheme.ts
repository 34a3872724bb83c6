import type { ObjectStore } from './object-store.ts';
import type { StorageConfig } from './storage-config.ts';

/**
 * What a kind of store declares about its URIs, and how to open one. shared/storage/uri.ts
 * parses, formats, joins and compares every URI through these declarations, so nothing outside
 * shared/storage/ knows a scheme: a new store is one file that implements ObjectStore and exports
 * a StoreScheme, plus one line in store-registry.ts.
 *
 * Left out on purpose: credentials and network settings (StorageConfig carries them to open()),
 * and anything about image formats or output layout.
 */
export interface StorageLocation {
  /** The URI scheme, lower case, without ':' ('s3', 'file'). */
  readonly scheme: string;
}

/** Where a location sits for the run's input roots (see producer/input-roots.ts). */
export interface RootFolder {
  /** Locations in different groups never share a root: an S3 bucket, a top-level local folder. */
  group: string;
  /** Folder segments below the group's top that hold the location. */
  segments: string[];
  /** The fewest segments a root of this group may keep (1 for local disks: never '/'). */
  minSegments: number;
}

export interface StoreScheme<L extends StorageLocation = StorageLocation> {
  /** URI scheme this store answers for, lower case, without ':'. */
  readonly scheme: string;
  /** The URI form in words for error messages, e.g. 's3://bucket/key'. */
  readonly example: string;
  /**
   * True when a URI names a file on the host that reads it. A manifest held in a store that is not
   * local may name only URIs of stores that are not local either: a remote file must never make
   * workers read their own disks.
   */
  readonly local: boolean;
  /**
   * True when an object's name ends with its format (`.jpg`), so submit can skip what is not an
   * image by name alone (producer/select-images.ts). False for web URLs, which often end in an id
   * or a query (`/photo?id=3`, `/a.jpg?w=800`): they are all kept and the worker judges the bytes.
   */
  readonly namesTellFormat: boolean;
  /**
   * Parses a URI of this scheme, or a plain path for the one store that takes them (the local
   * one, resolved against `cwd`). Throws ConfigError saying what to write instead.
   */
  parse(input: string, cwd: string): L;
  /** The canonical string, which parse() reads back to the same location. */
  format(location: L): string;
  /** The key of `target` relative to the folder `root` ('' when they are the same), or null when outside. */
  relativeKeyWithin(root: L, target: L): string | null;
  /** `prefix` with a '/'-separated relative key appended; uri.ts checks that the result stays inside. */
  join(prefix: L, relativeKey: string): L;
  /** A reference written without a scheme (a manifest line), resolved against the folder holding `base`. */
  resolve(base: L, reference: string): L;
  /** The folder of a location, for narrowing input roots. */
  rootFolder(location: L): RootFolder;
  /** The folder of `sample`'s group with these segments (the inverse of rootFolder). */
  folderAt(sample: L, segments: readonly string[]): L;
  /** The path on this host's filesystem, for stores whose URIs name local files; undefined otherwise. */
  localPath?(location: L): string;
  /** What to fix when writing under `location` failed, e.g. how to create a bucket. */
  writeHint(location: L): string;
  open(config: StorageConfig): ObjectStore;
}
