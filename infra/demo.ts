// `npm run demo`: the one-command local job on the sample images kept in the repo
// (test/fixtures/images: real photos plus a few broken files, see its README). It runs
// `resnet-batch run` with its own Redis into ./demo-output, then prints each image's top label
// from the run's Parquet metadata.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';

const root = fileURLToPath(new URL('..', import.meta.url));
const input = join(root, 'test', 'fixtures', 'images');
const output = join(root, 'demo-output');

const env = { ...process.env };
delete env.REDIS_URL; // the demo always uses the embedded default
const run = spawnSync(
  process.execPath,
  [join(root, 'bin', 'resnet-batch.js'), 'run', input, '--output', output, '--workers', '1', '--shard-size', '8'],
  {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  },
);
if (run.status !== 0) process.exit(run.status ?? 1);
const runId = run.stdout.trim().split('\n').pop() ?? '';

const metadataDir = join(output, runId, 'metadata');
console.log(`\nrun ${runId}: top label per image (from ${metadataDir})`);
for (const part of readdirSync(metadataDir).sort()) {
  const table = tableFromIPC(readParquet(readFileSync(join(metadataDir, part))).intoIPCStream());
  for (const row of table) {
    const name = String(row.uri).split('/').pop() ?? '';
    const labels = row.top_labels?.toArray() as string[] | undefined;
    const scores = row.top_scores?.toArray() as Float32Array | undefined;
    const verdict =
      row.status === 'ok'
        ? `${labels?.[0]} (${((scores?.[0] ?? 0) * 100).toFixed(1)}%)`
        : `error: ${String(row.error).slice(0, 90)}`;
    console.log(`  ${decodeURIComponent(name).padEnd(28)} ${verdict}`);
  }
}
console.log(`\nembeddings: ${join(output, runId, 'embeddings')}  manifest: ${join(output, runId, '_manifest.json')}`);
