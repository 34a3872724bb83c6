#!/usr/bin/env node
// Plain-JS launcher for model/fetch-weights.ts, run by `npm install` / `npm ci` as
// postinstall. Plain JS so that it can say what is wrong when tsx is not installed (e.g.
// `npm ci --ignore-scripts` followed by a manual run) instead of failing on a loader flag.
// RESNET_BATCH_SKIP_MODEL_FETCH=1 skips it: for image builds that fetch the model in a later
// layer, or hosts that read the model from s3:// and never need the local cache.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

if (process.env.RESNET_BATCH_SKIP_MODEL_FETCH === '1') {
  console.error(
    'resnet-batch: RESNET_BATCH_SKIP_MODEL_FETCH=1, not fetching the model; run `npm run fetch-model` before classifying',
  );
  process.exit(0);
}

const require = createRequire(import.meta.url);
try {
  require.resolve('tsx');
} catch {
  console.error(
    'resnet-batch: tsx is not installed, cannot fetch the model; run `npm ci` (tsx is a dependency), then `npm run fetch-model`',
  );
  process.exit(1);
}

const entry = fileURLToPath(new URL('../model/fetch-weights.ts', import.meta.url));
const result = spawnSync(process.execPath, ['--import', 'tsx', entry, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
