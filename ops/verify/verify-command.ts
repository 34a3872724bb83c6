import { readDefinition } from '../../producer/claim-run.ts';
import { checkBaseRun, loadIncrementalBase } from '../../producer/incremental-filter.ts';
import { openListing } from '../../producer/list-inputs.ts';
import { configFromEnv } from '../../shared/config.ts';
import { ConfigError } from '../../shared/errors.ts';
import { connectRedis, reachableRedisUrl } from '../../shared/queue/redis-connection.ts';
import { definitionOfRecord, type RunDefinition } from '../../shared/run/run-definition.ts';
import { RunRegistry } from '../../shared/run/run-registry.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { normalizeUri } from '../../shared/storage/uri.ts';
import { type VerifyReport, verifyRun } from './verify-run.ts';

export interface VerifyOptions {
  json: boolean;
  /**
   * The run's output root: verify from storage alone (its `_run.json`), without Redis. Default:
   * the output the run record in Redis names.
   */
  output?: string;
}

/**
 * `resnet-batch verify <run> [--output <uri>] [--json]`: re-reads the run's input and output and
 * reports every input missing, duplicated or mismatched (ops/verify/verify-run.ts). Exit 0 when
 * the output holds exactly one row for every input, 2 when it does not, 1 when the run cannot be
 * found or read.
 */
export async function verifyCommand(run: string, options: VerifyOptions): Promise<number> {
  const config = configFromEnv();
  const definition =
    options.output !== undefined ? await fromStorage(run, normalizeUri(options.output)) : await fromRedis(run);
  const store = openStore(definition.output);
  const listing = await openListing(definition.input, {
    openStore: (uri) => openStore(uri),
    ...(definition.url_column == null ? {} : { urlColumn: definition.url_column }),
  });
  try {
    const incremental =
      definition.since === null ? null : await incrementalBase(definition, config.REDIS_URL, config.QUEUE_PREFIX);
    const report = await verifyRun(definition, listing, incremental, store);
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
      throw new ConfigError(`no run ${run} under ${output} (no ${run}/_run.json); check the run id and --output`);
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
    `verdict   ${verdict}`,
    ...report.details.map((detail) => `  ${detail}`),
  ];
  return `${lines.join('\n')}\n`;
}
