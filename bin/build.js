#!/usr/bin/env node
// `npm run build` (and the `prepare` script, which `npm ci` and `npm install` run): compiles the
// source folders with tsc (tsconfig.build.json) into dist/, git-ignored, and writes the stamp the
// launcher checks (bin/build-stamp.js). The compiled CLI starts about a second faster than the
// sources through tsx, which transpiles every module at every start.
//
// --if-possible (the prepare script): a missing TypeScript (`npm ci --omit=dev`) or a failed
// compile is a warning, not a failed install; the launcher then runs the sources through tsx.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DIST, ROOT, STAMP, sourceFingerprint } from './build-stamp.js';

const ifPossible = process.argv.includes('--if-possible');

function giveUp(why) {
  const fallback = 'resnet-batch will run the TypeScript sources through tsx (slower to start)';
  console.error(`resnet-batch: build: ${why}; ${ifPossible ? fallback : 'fix it and run `npm run build` again'}`);
  process.exit(ifPossible ? 0 : 1);
}

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  giveUp('TypeScript is not installed (a devDependency: `npm ci` without --omit=dev installs it)');
}

// Taken before compiling: a source edited during the build leaves the stamp behind, never ahead.
const fingerprint = sourceFingerprint();
rmSync(DIST, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
if (result.status !== 0) {
  rmSync(DIST, { recursive: true, force: true });
  giveUp(`tsc -p tsconfig.build.json failed (exit ${result.status ?? result.signal}); \`npm run typecheck\` shows why`);
}
writeFileSync(STAMP, `${JSON.stringify({ builtAt: new Date().toISOString(), files: fingerprint }, null, 1)}\n`);
