import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useResource } from './set-up-scope.ts';

/** A folder of a file or describe block (set-up-scope.ts): `path` is set before the tests, the folder removed after them. */
export interface TempDir {
  readonly path: string;
}

/** A new folder under the system's temporary folder, named `<prefix><random>`, removed after the scope's tests. */
export function useTempDir(prefix: string): TempDir {
  const current = useResource(
    () => mkdtemp(join(tmpdir(), prefix)),
    (path) => rm(path, { recursive: true, force: true }),
  );
  return {
    get path() {
      return current();
    },
  };
}
