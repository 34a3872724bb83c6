import type { ObjectInfo, ObjectStore } from '../shared/storage/object-store.ts';
import type { RawFields } from './carried-fields.ts';

/**
 * The types the listing's readers share (list-inputs.ts and the readers of each list format),
 * kept apart so that the readers and the dispatcher do not import each other.
 */

/** The store for a URI (shared/storage/open-store.ts, or a test's). */
export type StoreOpener = (uri: string) => ObjectStore;

export interface SkippedInput {
  /**
   * 'invalid-entry': a manifest line that names no usable URI; 'outside-roots': see
   * input-roots.ts; 'unreadable': an entry the store cannot list (a link that loops);
   * 'duplicate': an input the manifest already named (duplicate-uris.ts).
   */
  reason: 'invalid-entry' | 'outside-roots' | 'unreadable' | 'duplicate';
  /** The URI, or the list file's URI with ':<line or row>' for an invalid entry. */
  where: string;
  detail: string;
}

/** One entry of a list file: the image it names with the fields it carries, or why it is skipped. */
export type ManifestItem = { info: ObjectInfo; fields: RawFields; where: string } | SkippedInput;
