import { httpsScheme, plainHttpScheme } from './http/http-store.ts';
import { localScheme } from './local/local-store.ts';
import { s3Scheme } from './s3/s3-store.ts';
import type { StoreScheme } from './store-scheme.ts';

/**
 * Every kind of store the pipeline can address, one line each. Adding a store is one file that
 * implements ObjectStore and exports its StoreScheme (see store-scheme.ts), plus its line here;
 * uri.ts, open-store.ts and everything above them then take its URIs. The order is the order the
 * accepted forms are listed in error messages.
 */
export const STORE_SCHEMES: readonly StoreScheme[] = [
  s3Scheme as StoreScheme,
  httpsScheme as StoreScheme,
  plainHttpScheme as StoreScheme,
  localScheme as StoreScheme,
];
