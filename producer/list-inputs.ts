import { ConfigError, describeError } from '../shared/errors.ts';
import type { CarriedColumn, CarriedFields } from '../shared/output/columns.ts';
import type { ObjectInfo } from '../shared/storage/object-store.ts';
import { isWithin, normalizeUri } from '../shared/storage/uri.ts';
import { CarriedColumnsBuilder, carriedFields } from './carried-fields.ts';
import { DuplicateUris } from './duplicate-uris.ts';
import { InputRootsBuilder } from './input-roots.ts';
import type { SkippedInput, StoreOpener } from './listing-types.ts';
import { manifestEntries } from './manifest-entries.ts';
import { type ManifestFormat, manifestFormat } from './manifest-entry.ts';

export type { SkippedInput, StoreOpener } from './listing-types.ts';

/**
 * Stage 1 of submit: list the candidate images of an input, page by page.
 *
 * An input is one of:
 *   - an s3:// prefix, listed recursively (its objects are the candidates);
 *   - a local folder (recursive), a single local file, or their file:// URIs;
 *   - a list file, local or in S3: a .txt or .jsonl manifest, a .csv or .parquet table, or an S3
 *     Inventory report's manifest.json (see manifest-entry.ts and manifest-entries.ts).
 * Nothing is filtered by format here (select-images.ts does that); a manifest line that names no
 * usable URI, and a listed object outside the run's roots, are reported through `onSkip` and
 * never end the listing.
 */
export interface InputDescription {
  /** Canonical URI of the input as given. */
  uri: string;
  kind: 'prefix' | 'manifest';
  /** Set when kind is 'manifest'. */
  format?: ManifestFormat;
}

export interface ListOptions {
  openStore: StoreOpener;
  /** Objects per page (default 1000, S3's maximum). Lower it only to test paging. */
  pageSize?: number;
  /** Longest manifest line in bytes (default 8 KiB); longer lines are skipped, not buffered. */
  maxLineBytes?: number;
  /** The column of image URLs in a CSV or Parquet list (`--url-column`); default `url`, else `uri`. */
  urlColumn?: string;
  /** Called for each candidate that is not listed (see SkippedInput). */
  onSkip?: (skipped: SkippedInput) => void;
}

/** A listed candidate: the object, and the fields its manifest line carries (carried-fields.ts). */
export interface ListedImage extends ObjectInfo {
  fields?: CarriedFields;
}

/**
 * What submit needs before it creates the run: where the images are, the roots they lie under,
 * and the columns their lines carry into the output.
 */
export interface InputListing {
  input: InputDescription;
  inputRoots: string[];
  carriedColumns: CarriedColumn[];
  pages: AsyncIterable<ListedImage[]>;
  /** Ends the listing early and releases its store; call it when `pages` will not be read to the end. */
  close(): Promise<void>;
}

/** Classifies an input; throws ConfigError when it does not exist. */
export async function describeInput(input: string, openStore: StoreOpener): Promise<InputDescription> {
  const uri = normalizeUri(input);
  const format = manifestFormat(uri);
  const store = openStore(uri);
  try {
    const info = await store.stat(uri);
    if (info !== null) return format === null ? { uri, kind: 'prefix' } : { uri, kind: 'manifest', format };
    // Only whether anything is there: entries the listing skips are reported by the listing itself.
    for await (const page of store.list(uri, { pageSize: 1, onSkip: () => undefined })) {
      if (page.length > 0) return { uri, kind: 'prefix' };
    }
  } catch (error) {
    throw new ConfigError(`cannot list input ${uri}: ${describeError(error)}`, { cause: error });
  } finally {
    await store.close();
  }
  throw new ConfigError(
    `input ${uri} does not exist or holds no files; expected an s3:// prefix, a local folder, a list file (.txt, .jsonl, .csv, .parquet) or an S3 Inventory manifest.json`,
  );
}

/**
 * Describes the input, derives its roots and checks that it lists at least one candidate, all
 * before anything is enqueued. The first page is read here and handed back inside `pages`, so a
 * prefix is listed only once; a manifest is read twice (once for its roots, carried columns and
 * repeated inputs, manifestFacts).
 */
export async function openListing(input: string, options: ListOptions): Promise<InputListing> {
  const description = await describeInput(input, options.openStore);
  const facts: ManifestFacts =
    description.kind === 'prefix'
      ? { roots: [description.uri], carriedColumns: [], duplicates: null }
      : await manifestFacts(description, options);
  const { roots: inputRoots, carriedColumns } = facts;
  const iterator = listDescribed(description, facts, options)[Symbol.asyncIterator]();
  let first: IteratorResult<ListedImage[]>;
  try {
    first = await iterator.next();
  } catch (error) {
    throw new ConfigError(`cannot list input ${description.uri}: ${describeError(error)}`, { cause: error });
  }
  if (first.done === true) {
    throw new ConfigError(`input ${description.uri} holds no files to process; check the prefix, folder or manifest`);
  }
  const firstPage = first.value;
  async function* pages(): AsyncGenerator<ListedImage[]> {
    yield firstPage;
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value;
  }
  const close = async (): Promise<void> => {
    await iterator.return?.(undefined);
  };
  return { input: description, inputRoots, carriedColumns, pages: pages(), close };
}

async function* listDescribed(
  input: InputDescription,
  facts: ManifestFacts,
  options: ListOptions,
): AsyncGenerator<ListedImage[]> {
  const roots = facts.roots;
  const source = input.kind === 'prefix' ? listPrefix(input.uri, options) : listManifest(input, facts, options);
  for await (const page of source) {
    // S3 prefixes are raw strings (s3://b/img also lists img2/...) and S3 keys may hold '..'
    // segments; the worker refuses both, so they are skipped here with a reason.
    const inside = page.filter((info) => {
      if (roots.some((root) => isWithin(root, info.uri))) return true;
      options.onSkip?.({ reason: 'outside-roots', where: info.uri, detail: `not inside ${roots.join(', ')}` });
      return false;
    });
    if (inside.length > 0) yield inside;
  }
}

async function* listPrefix(uri: string, options: ListOptions): AsyncGenerator<ObjectInfo[]> {
  const store = options.openStore(uri);
  try {
    yield* store.list(uri, {
      pageSize: options.pageSize ?? 1000,
      onSkip: (skipped) => options.onSkip?.({ reason: 'unreadable', where: skipped.uri, detail: skipped.reason }),
    });
  } finally {
    await store.close();
  }
}

async function* listManifest(
  input: InputDescription,
  facts: ManifestFacts,
  options: ListOptions,
): AsyncGenerator<ListedImage[]> {
  const pageSize = options.pageSize ?? 1000;
  let page: ListedImage[] = [];
  for await (const entry of manifestEntries(input, manifestOptions(options))) {
    if ('detail' in entry) {
      options.onSkip?.(entry);
      continue;
    }
    if (facts.duplicates?.isRepeat(entry.info.uri)) {
      options.onSkip?.({
        reason: 'duplicate',
        where: entry.where,
        detail: `${entry.info.uri} is named earlier in the manifest`,
      });
      continue;
    }
    const fields = carriedFields(entry.fields, facts.carriedColumns);
    page.push(fields === undefined ? entry.info : { ...entry.info, fields });
    if (page.length >= pageSize) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

function manifestOptions(options: ListOptions) {
  return {
    openStore: options.openStore,
    ...(options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes }),
    ...(options.urlColumn === undefined ? {} : { urlColumn: options.urlColumn }),
  };
}

/** What the pass over a manifest learns before anything is enqueued. */
interface ManifestFacts {
  roots: string[];
  carriedColumns: CarriedColumn[];
  /** Inputs the manifest names more than once (null for a prefix, which cannot). */
  duplicates: DuplicateUris | null;
}

/**
 * One silent pass over the manifest, before anything is enqueued: its roots, the run's carried
 * columns and its repeated inputs. Throws ConfigError when it names no usable entry or a field
 * cannot be carried.
 */
async function manifestFacts(input: InputDescription, options: ListOptions): Promise<ManifestFacts> {
  const roots = new InputRootsBuilder();
  const columns = new CarriedColumnsBuilder();
  const duplicates = new DuplicateUris();
  let entries = 0;
  try {
    for await (const entry of manifestEntries(input, manifestOptions(options))) {
      if ('detail' in entry) continue;
      roots.add(entry.info.uri);
      columns.add(entry.fields, entry.where);
      duplicates.add(entry.info.uri);
      entries += 1;
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read manifest ${input.uri}: ${describeError(error)}`, { cause: error });
  }
  if (entries === 0) {
    throw new ConfigError(
      `manifest ${input.uri} names no usable image URI; expected one URI per line (.txt), {"uri": ...} objects (.jsonl), or rows with a URL column (.csv, .parquet)`,
    );
  }
  duplicates.finish();
  return { roots: roots.roots(), carriedColumns: columns.columns(), duplicates };
}
