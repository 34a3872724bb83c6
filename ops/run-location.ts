/**
 * How `status`, `report` (and `verify`) tell a run id from a run's output location. A run id
 * matches RUN_ID_PATTERN (shared/queue/job-payload.ts: letters, digits, `.`, `_`, `-`), so it
 * never holds `/` or `:`; an argument holding either is the run's folder, `<output>/<run>`, as a
 * path (`./out/run-1`, `/data/out/run-1`) or a URI (`s3://bucket/out/run-1`). No imports: bin/
 * reads this at start-up for the help text.
 */
export const RUN_LOCATION_RULE =
  "a run id, looked up in Redis, or the run's output location <output>/<run> (a folder or s3://), read from storage alone with no Redis once the run has finished; an argument holding '/' or ':' is a location (write ./<folder> for one in this folder)";

/** True when `argument` names a run's output location rather than a run id (RUN_LOCATION_RULE). */
export function isRunLocation(argument: string): boolean {
  return argument.includes('/') || argument.includes(':');
}
