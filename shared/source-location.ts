import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where this code runs from: the TypeScript sources through tsx (this file is
 * <root>/shared/source-location.ts) or the compiled copy that bin/build.js writes
 * (<root>/dist/shared/source-location.js). tsc rewrites the extensions of imports only, so paths
 * to anything else (package.json, the launcher, a worker thread's entry module) come from here.
 */
const compiled = import.meta.url.endsWith('.js');

/** The folder that holds package.json. */
export const PROJECT_ROOT = fileURLToPath(new URL(compiled ? '../..' : '..', import.meta.url));

/** The extension of this project's modules as they run now: '.js' compiled, '.ts' from the sources. */
export const MODULE_EXTENSION = compiled ? '.js' : '.ts';

/** bin/resnet-batch.js, which picks the compiled CLI or the sources: what child processes run. */
export const CLI_LAUNCHER = join(PROJECT_ROOT, 'bin', 'resnet-batch.js');

/** This package's version (package.json), for --version and the User-Agent of web fetches. */
export const PROJECT_VERSION = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
