import { readDefinition } from '../producer/claim-run.ts';
import { ConfigError } from '../shared/errors.ts';
import { parseRunLocation } from '../shared/run/run-location.ts';
import { openStore } from '../shared/storage/open-store.ts';
import { readErrorRows } from './run-errors.ts';

/**
 * `resnet-batch failed <output>/<run>`: the inputs of a run that have an error row, one URI a line
 * on stdout, read from the run's `errors/` parts alone (no Redis). The lines are a `.txt` list
 * that `run` and `submit` take, so a run's failures are processed again as a new run once their
 * cause is fixed (HTTP_ALLOWED_HOSTS, a permission, a corrupt file replaced):
 *
 *   resnet-batch failed ./out/20261201-120000-a1b2c3 > failed.txt
 *   resnet-batch run failed.txt --output ./out
 *
 * Why a new run and not the same `--run` again: a run processes one input for good, and its
 * committed shards (their error rows included) are reused as they are on a resubmission. Extra
 * fields of a .jsonl, .csv or .parquet list are not carried into the new list; only the URIs.
 * Returns 0 whether or not any input failed (an empty list is a valid answer).
 */
export async function failedCommand(location: string): Promise<number> {
  const { output, run } = parseRunLocation(location);
  const store = openStore(output);
  try {
    if ((await readDefinition(store, output, run)) === null) {
      throw new ConfigError(
        `no run at ${location} (no _run.json in it); give the run's folder: the --output of the run, then its id, e.g. ./out/20261201-120000-a1b2c3`,
      );
    }
    for await (const row of readErrorRows(store, output, run)) process.stdout.write(`${row.uri}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
