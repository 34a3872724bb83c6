import { createRequire } from 'node:module';

/**
 * Apache Arrow, from the single-file build the package ships (Arrow.esnext.min.js, the same API
 * and version as its main entry). The main ESM entry is 146 modules: about 150 ms of every
 * worker's and `run`'s start-up on 2 cores, where this file loads in under 20 ms (issue 12).
 * Arrow only carries tables between this project and parquet-wasm as IPC bytes, so no object of
 * one build ever meets a class of the other (nothing here uses instanceof on Arrow classes).
 * Types still come from 'apache-arrow' (`import type`).
 */
export const arrow = createRequire(import.meta.url)('apache-arrow/Arrow.esnext.min') as typeof import('apache-arrow');
