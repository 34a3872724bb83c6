// `npm run demo`: the one-command local job on the sample images kept in the repo
// (test/fixtures/images: real photos plus a few broken files, see its README). It runs
// `resnet-batch run` with its own Redis into ./demo-output, then prints each image's top label
// from the run's metadata parts, and each failed input's reason from its errors parts.
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
// 2: two of the fixtures are broken on purpose and end as error rows, which the demo shows below.
if (run.status !== 0 && run.status !== 2) process.exit(run.status ?? 1);
const runId = run.stdout.trim().split('\n').pop() ?? '';

const runDir = join(output, runId);
console.log(`\nrun ${runId}: top label per image (from ${runDir}/metadata and ${runDir}/errors)`);
const lines: Array<[string, string]> = [];
for (const folder of ['metadata', 'errors']) {
  for (const part of readdirSync(join(runDir, folder)).filter((name) => name.endsWith('.parquet'))) {
    const table = tableFromIPC(readParquet(readFileSync(join(runDir, folder, part))).intoIPCStream());
    for (const row of table) {
      const name = decodeURIComponent(String(row.uri).split('/').pop() ?? '');
      const labels = row.top_labels?.toArray() as string[] | undefined;
      const scores = row.top_scores?.toArray() as Float32Array | undefined;
      const verdict =
        folder === 'metadata'
          ? `${labels?.[0]} (${((scores?.[0] ?? 0) * 100).toFixed(1)}%)`
          : `error: ${String(row.error).slice(0, 90)}`;
      lines.push([name, verdict]);
    }
  }
}
for (const [name, verdict] of lines.sort((a, b) => a[0].localeCompare(b[0])))
  console.log(`  ${name.padEnd(28)} ${verdict}`);
console.log(`\nembeddings: ${join(runDir, 'embeddings')}  manifest: ${join(runDir, '_manifest.json')}`);
