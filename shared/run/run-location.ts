import { ConfigError } from '../errors.ts';
import { RUN_ID_PATTERN } from '../queue/job-payload.ts';
import { normalizeUri } from '../storage/uri.ts';

/**
 * A run named by where it is stored, `<output>/<run>` (a folder, file:// or s3://), as commands
 * that work from the output alone accept it. A run id never holds a '/' (RUN_ID_PATTERN), so an
 * argument with one is a location and one without is a run id.
 */
export interface RunLocation {
  /** The output root, canonical (shared/storage/uri.ts), ending in '/'. */
  output: string;
  run: string;
}

export function isRunLocation(argument: string): boolean {
  return argument.includes('/');
}

/** `out/run-1/` -> { output: 'file:///cwd/out/', run: 'run-1' }; ConfigError when the last segment is no run id. */
export function parseRunLocation(argument: string): RunLocation {
  const uri = normalizeUri(argument).replace(/\/+$/, '');
  const slash = uri.lastIndexOf('/');
  const run = uri.slice(slash + 1);
  if (!RUN_ID_PATTERN.test(run) || uri.slice(0, slash).endsWith(':/'))
    throw new ConfigError(
      `'${argument}' is not a run's output location (expected <output>/<run>, the run folder holding _run.json, got last segment '${run}'); give the run's folder, like out/catalogue-v2 or s3://results/catalogue-v2`,
    );
  return { output: uri.slice(0, slash + 1), run };
}
