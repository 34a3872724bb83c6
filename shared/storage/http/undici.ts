import { loadOnFirstUse } from '../load-on-first-use.ts';

/** undici, the web client of the http(s) store, loaded on the first web request. */
export const undici = loadOnFirstUse<typeof import('undici')>('undici');
