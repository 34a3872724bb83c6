import { ConfigError } from '../errors.ts';
import { STORE_SCHEMES } from './store-registry.ts';
import type { RootFolder, StorageLocation, StoreScheme } from './store-scheme.ts';

/**
 * Storage URIs: the one place that turns what a user or a job wrote into a location, for every
 * store in store-registry.ts. Each store's own syntax (file-uri.ts, s3-uri.ts) says how its URIs
 * parse, format, join and compare; this file finds the store for a URI and applies the rules
 * every store shares:
 * - a string without a scheme is a local path (the one store that takes plain paths);
 * - canonical strings (what ObjectInfo.uri and normalizeUri return) parse back to the same location;
 * - a joined key never leaves its prefix, and a URI is never inside a root of another store.
 */
export type { StorageLocation } from './store-scheme.ts';

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]+):/;

function expectedForms(): string {
  const forms = STORE_SCHEMES.map((store) => store.example);
  return `expected ${forms.slice(0, -1).join(', ')}${forms.length > 1 ? ', ' : ''}${forms[forms.length - 1] ?? ''}`;
}

function printable(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/** The store that answers for `input`'s scheme (the local store for plain paths); ConfigError for any other. */
export function storeSchemeOf(input: string): StoreScheme {
  if (input.trim() === '') throw new ConfigError(`storage location is empty; ${expectedForms()}`);
  if (input.includes('\0'))
    throw new ConfigError(`storage location '${printable(input)}' contains a NUL byte; ${expectedForms()}`);
  // A one-letter "scheme" is not one: a local name containing ':' needs a './' in front.
  const scheme = SCHEME.exec(input)?.[1]?.toLowerCase();
  const store =
    scheme === undefined
      ? STORE_SCHEMES.find((candidate) => candidate.local)
      : STORE_SCHEMES.find((candidate) => candidate.scheme === scheme);
  if (store === undefined) {
    throw new ConfigError(
      `unsupported storage scheme '${scheme}:' in '${input}'; ${expectedForms()}. ` +
        `Copy remote files to a supported store first, or write a local name containing ':' as ./${input}`,
    );
  }
  return store;
}

function schemeOfLocation(location: StorageLocation): StoreScheme {
  const store = STORE_SCHEMES.find((candidate) => candidate.scheme === location.scheme);
  if (store === undefined)
    throw new ConfigError(`no store answers for scheme '${location.scheme}'; ${expectedForms()}`);
  return store;
}

/** Parses any accepted form. Throws ConfigError (with the fix) for empty input, unknown schemes and malformed URIs. */
export function parseUri(input: string, cwd: string = process.cwd()): StorageLocation {
  return storeSchemeOf(input).parse(input, cwd);
}

/** The canonical string for a parsed location. */
export function formatUri(location: StorageLocation): string {
  return schemeOfLocation(location).format(location);
}

/** Parses and formats: `./a b.jpg` -> `file:///cwd/a%20b.jpg`, `S3://b/k` -> `s3://b/k`. */
export function normalizeUri(input: string, cwd: string = process.cwd()): string {
  return formatUri(parseUri(input, cwd));
}

/**
 * Appends a '/'-separated relative key to a prefix: (`s3://b/out`, `run/x.npy`) ->
 * `s3://b/out/run/x.npy`. The key is literal on every store (`%2F` stays three characters).
 * Throws ConfigError when the key is absolute or empty, or when the result would leave the prefix.
 */
export function joinUri(prefixUri: string, relativeKey: string): string {
  if (relativeKey === '' || relativeKey.startsWith('/')) {
    throw new ConfigError(
      `cannot join '${relativeKey}' to '${prefixUri}'; expected a relative key like run-1/part-00000.npy`,
    );
  }
  const store = storeSchemeOf(prefixUri);
  const result = store.format(store.join(store.parse(prefixUri, process.cwd()), relativeKey));
  if (!isWithin(prefixUri, result)) {
    throw new ConfigError(
      `key '${relativeKey}' leaves '${prefixUri}'; keys must stay under their prefix (no '..' segments)`,
    );
  }
  return result;
}

/**
 * The key of `uri` relative to the folder `rootUri` ('' when they are the same location), or
 * null when `uri` is not inside it (another store, or outside by that store's rules).
 */
export function relativeKeyWithin(rootUri: string, uri: string): string | null {
  const root = parseUri(rootUri);
  const target = parseUri(uri);
  if (root.scheme !== target.scheme) return null;
  return schemeOfLocation(root).relativeKeyWithin(root, target);
}

/** True when `uri` is `rootUri` itself or inside it (see relativeKeyWithin). */
export function isWithin(rootUri: string, uri: string): boolean {
  return relativeKeyWithin(rootUri, uri) !== null;
}

/**
 * A manifest line's reference as a canonical URI: a URI with a scheme stands as it is; anything
 * else is relative to the folder holding the manifest. A manifest in a store that is not local may
 * name only URIs of stores that are not local (a remote file must never make workers read their
 * own disks). Throws ConfigError saying why.
 */
export function resolveReference(reference: string, manifestUri: string): string {
  const manifestStore = storeSchemeOf(manifestUri);
  const target = SCHEME.test(reference)
    ? parseUri(reference)
    : manifestStore.resolve(manifestStore.parse(manifestUri, process.cwd()), reference);
  if (!manifestStore.local && schemeOfLocation(target).local) {
    throw new ConfigError(
      `a manifest in ${manifestStore.scheme}:// may name only remote objects (got '${reference}'); copy the files to a remote store or use a local manifest`,
    );
  }
  return formatUri(target);
}

/** Where `uri` sits for the run's input roots (see producer/input-roots.ts). */
export function rootFolderOf(uri: string): RootFolder {
  const location = parseUri(uri);
  return schemeOfLocation(location).rootFolder(location);
}

/** The canonical URI of the folder of `sampleUri`'s group made of `segments` (inverse of rootFolderOf). */
export function folderUri(sampleUri: string, segments: readonly string[]): string {
  const sample = parseUri(sampleUri);
  const store = schemeOfLocation(sample);
  return store.format(store.folderAt(sample, segments));
}

/** True when `uri`'s name ends with its format, so it can be judged by name (see StoreScheme.namesTellFormat). */
export function namesTellFormat(uri: string): boolean {
  return storeSchemeOf(uri).namesTellFormat;
}

/** The path on this host for a URI of a local store; undefined for remote stores. */
export function localPathOf(uri: string): string | undefined {
  const location = parseUri(uri);
  return schemeOfLocation(location).localPath?.(location);
}

/** What to fix when writing under `uri` failed (create the bucket, fix permissions). */
export function writeHintFor(uri: string): string {
  const location = parseUri(uri);
  return schemeOfLocation(location).writeHint(location);
}
