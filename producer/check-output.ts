import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, describeError } from '../shared/errors.ts';
import { joinUri, writeHintFor } from '../shared/storage/uri.ts';
import type { StoreOpener } from './list-inputs.ts';

/**
 * Proves the output is writable before anything is enqueued, by writing `<output>/<run>/.write-check`
 * and reading it back. A real write is the only check that covers every way it can fail (missing
 * bucket, no s3:PutObject, a bucket policy, a read-only or full disk, a path through a file);
 * HeadBucket or access(2) answer a different question. Once it passed, the probe is deleted (with
 * its folder when nothing else is in it, ObjectStore.delete): a check leaves nothing in the
 * output, not even for `schedule add`, whose check names a run that never exists
 * (`<name>-schedule-check`). Deleting is best effort: a store that grants writes but not deletes
 * (no s3:DeleteObject) keeps the few bytes, which is no reason to refuse the run.
 */
export const WRITE_CHECK_NAME = '.write-check';

export async function checkOutputWritable(
  output: string,
  run: string,
  openStore: StoreOpener,
  now: Date = new Date(),
): Promise<void> {
  const refusal = systemOutputProblem(output);
  if (refusal !== null) throw new ConfigError(refusal);
  const probe = joinUri(output, `${run}/${WRITE_CHECK_NAME}`);
  const body = JSON.stringify({ run, checked_at: now.toISOString(), nonce: randomBytes(8).toString('hex') });
  const store = openStore(output);
  try {
    await store.write(probe, body, { contentType: 'application/json' });
    const back = (await store.read(probe, { maxBytes: 4096 })).toString('utf8');
    if (back !== body)
      throw new Error(
        'the object read back differs from the one written (another submit with the same run id, or an inconsistent store)',
      );
    await store.delete(probe).catch(() => undefined);
  } catch (error) {
    throw new ConfigError(
      `output ${output} is not writable: writing ${probe} failed (${describeError(error)}); ${writeHintFor(output)}`,
      { cause: error },
    );
  } finally {
    await store.close();
  }
}

/** Kernel file systems: writes there hang (a /proc file that never answers) or change the machine. */
const SPECIAL_FILE_SYSTEMS = ['/proc', '/sys', '/dev'];
/** System folders an output must not be, itself (a folder under them, like /var/tmp/out, is fine). */
const SYSTEM_ROOTS = new Set([
  '/',
  '/etc',
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib64',
  '/boot',
  '/var',
  '/root',
  '/opt',
  '/home',
  '/run',
  '/srv',
  '/tmp',
]);

/**
 * Why a local output may not be written, or null: under /proc, /sys or /dev, or a system root
 * itself, after following symbolic links of the part that exists. Refused before the write
 * check, which under /proc could wait for ever.
 */
export function systemOutputProblem(output: string): string | null {
  if (!output.startsWith('file:')) return null;
  const path = realPathOfExisting(fileURLToPath(output));
  if (SPECIAL_FILE_SYSTEMS.some((root) => path === root || path.startsWith(`${root}/`))) {
    return `output ${output} is on a special file system (${path}); choose a folder on a disk, like ./out`;
  }
  if (SYSTEM_ROOTS.has(path)) {
    return `output ${output} is the system folder ${path}; choose a folder of its own, like ./out`;
  }
  return null;
}

function realPathOfExisting(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  try {
    return realpathSync(trimmed);
  } catch {
    const parent = dirname(trimmed);
    if (parent === trimmed) return trimmed;
    const base = trimmed.slice(parent.length).replace(/^\//, '');
    const real = realPathOfExisting(parent);
    return real === '/' ? `/${base}` : `${real}/${base}`;
  }
}
