// Runs every test/**/*.test.ts with node's own test runner. Node 20's --test takes no globs, so
// the file list is built here. One file at a time: tests share the 2-core machine with real
// servers and the model, and timing-sensitive reliability tests must not compete with each other.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const testRoot = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);

function findTests(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : findTests(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = findTests(testRoot)
  .map((file) => relative(process.cwd(), file))
  .filter((file) => only.length === 0 || only.some((pattern) => file.includes(pattern)))
  .sort();

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  // The AWS SDK's Node 20 notice is off in the tests as in the commands (shared/storage/s3/s3-client.ts),
  // including the clients tests create themselves.
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED:
        process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ?? 'true',
    },
  },
);
process.exit(result.status ?? 1);
