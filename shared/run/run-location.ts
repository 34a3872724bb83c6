import { ConfigError } from '../errors.ts';
import { RUN_ID_PATTERN } from '../queue/job-payload.ts';
import { normalizeUri } from '../storage/uri.ts';

/**
 * A run named by where it is stored, `<output>/<run>` (a folder, file:// or s3://), as the
 * commands that work from the output alone accept it (status, report, verify, failed). A run id
 * matches RUN_ID_PATTERN (letters, digits, `.`, `_`, `-`), so it never holds `/` or `:`: an
 * argument holding either is a location, one without is a run id.
 */
export interface RunLocation {
  /** The output root, canonical (shared/storage/uri.ts), ending in '/'. */
  output: string;
  run: string;
}

/** The rule above in the words of the commands' --help. */
export const RUN_LOCATION_RULE =
  "a run id, looked up in Redis, or the run's output location <output>/<run> (a folder or s3://), read from storage alone with no Redis once the run has finished; an argument holding '/' or ':' is a location (write ./<folder> for one in this folder)";

/** True when `argument` names a run's output location rather than a run id. */
export function isRunLocation(argument: string): boolean {
  return argument.includes('/') || argument.includes(':');
}

/** `out/run-1/` -> { output: 'file:///cwd/out/', run: 'run-1' }; ConfigError when the last segment is no run id. */
export function parseRunLocation(argument: string): RunLocation {
  const uri = normalizeUri(argument).replace(/\/+$/, '');
  const slash = uri.lastIndexOf('/');
  const run = uri.slice(slash + 1);
  if (!RUN_ID_PATTERN.test(run) || uri.slice(0, slash).endsWith(':/'))
    throw new ConfigError(
      `'${argument}' is not a run's output location (expected <output>/<run>, the run folder holding _run.json, got last segment '${run}'); give the run's folder, like ./out/20261201-120000-a1b2c3 or s3://results/catalogue-v2`,
    );
  return { output: uri.slice(0, slash + 1), run };
}
