import { readDefinition } from '../../producer/claim-run.ts';
import { checkBaseRun, loadIncrementalBase } from '../../producer/incremental-filter.ts';
import { openListing } from '../../producer/list-inputs.ts';
import { configFromEnv } from '../../shared/config.ts';
import { ConfigError } from '../../shared/errors.ts';
import { connectRedis, reachableRedisUrl } from '../../shared/queue/redis-connection.ts';
import { definitionOfRecord, type RunDefinition } from '../../shared/run/run-definition.ts';
import { isRunLocation, parseRunLocation } from '../../shared/run/run-location.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { normalizeUri } from '../../shared/storage/uri.ts';
import { type VerifyProgress, type VerifyReport, verifyRun } from './verify-run.ts';

export interface VerifyOptions {
  json: boolean;
  /**
   * The run's output root: verify from storage alone (its `_run.json`), without Redis. Default:
   * the output the run record in Redis names.
   */
  output?: string;
}

/**
 * `resnet-batch verify <run | output/run> [--output <uri>] [--json]`: re-reads the run's input
 * and output and reports every input missing, duplicated or mismatched and every part missing,
 * damaged or unexpected (ops/verify/verify-run.ts). Exit 0 when the output is clean, 2 when it is
 * not, 1 when the run cannot be found or read.
 *
 * Given a location (`<output>/<run>`, or a run id with --output), verify checks THAT location,
 * whatever output its `_run.json` names: a copy of a run is verified as the copy it is.
 */
export async function verifyCommand(target: string, options: VerifyOptions): Promise<number> {
  const config = configFromEnv();
  const location = isRunLocation(target)
    ? parseRunLocation(target)
    : options.output !== undefined
      ? { output: normalizeUri(options.output), run: target }
      : null;
  const definition =
    location === null
      ? await fromRedis(target)
      : { ...(await fromStorage(location.run, location.output)), output: location.output };
  const store = openStore(definition.output);
  const listing = await openListing(definition.input, {
    openStore: (uri) => openStore(uri),
    ...(definition.url_column == null ? {} : { urlColumn: definition.url_column }),
  });
  try {
    const incremental =
      definition.since === null ? null : await incrementalBase(definition, config.REDIS_URL, config.QUEUE_PREFIX);
    const progress = progressLine(process.stderr);
    const report = await verifyRun(definition, listing, incremental, store, progress.update);
    progress.end();
    process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : reportText(report));
    return Object.values(report.problems).every((count) => count === 0) ? 0 : 2;
  } finally {
    await listing.close();
    await store.close();
  }
}

async function fromStorage(run: string, output: string): Promise<RunDefinition> {
  const store = openStore(output);
  try {
    const definition = await readDefinition(store, output, run);
    if (definition === null)
      throw new ConfigError(
        `no run ${run} under ${output} (no ${run}/_run.json); check the run id and --output, or give the run's folder`,
      );
    return definition;
  } finally {
    await store.close();
  }
}

async function fromRedis(run: string): Promise<RunDefinition> {
  const config = configFromEnv();
  const redisUrl = await reachableRedisUrl(
    config.REDIS_URL,
    'verify reads the run record (or give --output to verify from storage alone)',
  );
  const redis = connectRedis(redisUrl);
  try {
    return definitionOfRecord(await new RunRegistry(redis, config.QUEUE_PREFIX).require(run));
  } finally {
    redis.disconnect();
  }
}

/** An incremental run's filter, as submit applied it: its base run's results, from Redis. */
async function incrementalBase(definition: RunDefinition, redisUrl: string | undefined, prefix: string) {
  const url = await reachableRedisUrl(
    redisUrl,
    `run ${definition.run} is incremental (--since ${definition.since}); verify needs the base run's record`,
  );
  const redis = connectRedis(url);
  try {
    const registry = new RunRegistry(redis, prefix);
    const base = await checkBaseRun(registry, definition.since ?? '', prefix);
    return await loadIncrementalBase(
      base,
      { model: definition.model, precision: definition.precision },
      registry,
      (uri) => openStore(uri),
    );
  } finally {
    redis.disconnect();
  }
}

function reportText(report: VerifyReport): string {
  const problems = Object.entries(report.problems)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${count} ${kind}`);
  const verdict =
    problems.length === 0
      ? `ok: every input has exactly one row (${report.rows.ok} ok, ${report.rows.error} error)`
      : `PROBLEMS: ${problems.join(', ')}`;
  const lines = [
    `run       ${report.run}`,
    `inputs    ${report.inputs} in ${report.shards} shards, as the input lists now`,
    `rows      ${report.rows.ok} ok, ${report.rows.error} error`,
    `bytes     ${report.bytes.checked} parts match their sha256${report.bytes.unverified > 0 ? `, ${report.bytes.unverified} unverified bytes (written before checksums)` : ''}`,
    `verdict   ${verdict}`,
    ...report.details.map((detail) => `  ${detail}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Shards done and bytes read, redrawn on one line of a terminal's stderr at most twice a second. */
function progressLine(stream: NodeJS.WriteStream): { update: VerifyProgress; end(): void } {
  if (!stream.isTTY) return { update: () => undefined, end: () => undefined };
  let drawn = 0;
  return {
    update: ({ shards, of, bytes }) => {
      if (Date.now() - drawn < 500) return;
      drawn = Date.now();
      stream.write(`\rverify: ${shards}${of === null ? '' : ` of ${of}`} shards, ${(bytes / 1e6).toFixed(1)} MB read`);
    },
    end: () => {
      if (drawn > 0) stream.write('\r\x1b[K');
    },
  };
}
