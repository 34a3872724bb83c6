import { createRequire } from 'node:module';

/**
 * undici, the web client of the http(s) store, loaded on first use. Importing it costs 80-140 ms,
 * and every URI parser reaches this folder (uri.ts -> store-registry.ts -> http-store.ts), so
 * every command and the engine thread (which resolves model URIs) paid it without one web
 * request (issue 12: start-up under 2 s). Like aws-sdk.ts, for the same reason.
 */
const require = createRequire(import.meta.url);

type Undici = typeof import('undici');

let loaded: Undici | undefined;

export function undici(): Undici {
  loaded ??= require('undici') as Undici;
  return loaded;
}
