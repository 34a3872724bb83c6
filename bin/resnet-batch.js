#!/usr/bin/env node
// Launcher: the compiled CLI (dist/, built by `npm ci` through the prepare script, or by `npm run
// build`) when it is current with the sources, else the TypeScript sources through tsx's loader (a
// runtime dependency), so that a clone, an edited tree or an install without the build still runs.
// RESNET_BATCH_FROM_SOURCE=1 forces the sources (to debug with the .ts stack traces).
import { compiledEntryIfCurrent } from './build-stamp.js';

const compiled = process.env.RESNET_BATCH_FROM_SOURCE === '1' ? undefined : compiledEntryIfCurrent('bin/cli.js');
if (compiled) {
  await import(compiled);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./cli.ts');
}
