import type fs from 'node:fs';
import fsPromises from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';

/**
 * Test support, never imported by production code: preloaded into a worker child process with
 * `node --import tsx --import ./test/reliability/crash-on-uri.ts bin/resnet-batch.js worker`
 * (see startOnnxWorker's `preload`). When the process opens a file whose path contains
 * RESNET_BATCH_TEST_CRASH_ON_URI_SUBSTRING, it SIGKILLs itself: the stand-in for an input that
 * crashes the native decoder every time (a poison shard), without a test path in worker code.
 *
 * It wraps fs.promises.open and fs.promises.readFile (the local store reads through them) and
 * republishes them to ES module importers with syncBuiltinESMExports.
 */

const trigger = process.env.RESNET_BATCH_TEST_CRASH_ON_URI_SUBSTRING;

function crashOn(path: unknown): void {
  if (trigger && String(path instanceof URL ? path.pathname : path).includes(trigger))
    process.kill(process.pid, 'SIGKILL');
}

if (trigger) {
  const { open, readFile } = fsPromises;
  fsPromises.open = ((path: fs.PathLike, ...rest: unknown[]) => {
    crashOn(path);
    return (open as (...args: unknown[]) => unknown)(path, ...rest);
  }) as typeof fsPromises.open;
  fsPromises.readFile = ((path: fs.PathLike | fsPromises.FileHandle, ...rest: unknown[]) => {
    crashOn(path);
    return (readFile as (...args: unknown[]) => unknown)(path, ...rest);
  }) as typeof fsPromises.readFile;
  syncBuiltinESMExports();
}
