import { randomBytes } from 'node:crypto';
import { ConfigError } from '../shared/errors.ts';
import { RUN_ID_PATTERN } from '../shared/queue/job-payload.ts';

/**
 * Run ids name Redis keys, job ids and the output folder `<output>/<run>/`.
 *
 * The default is `YYYYMMDD-HHMMSS-xxxxxx`: UTC time of submission plus 6 random hex digits, so
 * ids sort by submission time in `ls` and S3 listings, read at a glance, and two submits in the
 * same second still differ (1 in 16.7 million chance of a clash, which create() then reports).
 */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Throws ConfigError unless `run` matches RUN_ID_PATTERN. */
export function checkRunId(run: string): string {
  if (!RUN_ID_PATTERN.test(run)) {
    throw new ConfigError(
      `run id '${run}' is not allowed; expected 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit (like 2026-11-26-catalogue), or leave out --run for a generated one`,
    );
  }
  return run;
}
