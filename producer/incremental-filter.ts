import { ConfigError } from '../shared/errors.ts';
import type { Logger } from '../shared/observability/logger.ts';
import type { RunRecord } from '../shared/run/run-record.ts';
import type { RunRegistry } from '../shared/run/run-registry.ts';
import type { ObjectInfo } from '../shared/storage/object-store.ts';
import type { StoreOpener } from './list-inputs.ts';
import { loadPreviousResults } from './previous-results.ts';
import { UriEtagSet } from './uri-etag-set.ts';

/**
 * Incremental runs (`submit --since <run>`, `schedule add --incremental`): between selection and
 * sharding, drop every listed image whose URI and ETag had an ok row in the base run. What is
 * left is what is new, changed (another ETag), or failed last time.
 *
 * What counts as processed is the base's ok rows plus, when the base was itself incremental,
 * what its own base counted (followed link by link while each link used the same model): an image
 * unchanged for several runs has a row only in the run that last processed it.
 *
 * The base must be a finished run (its metadata is then final). When the new run's model
 * reference or precision differs from the base's, nothing is dropped: results of another model
 * (an int8 model is another model) are no results of this one. The reference is what submit knows before any worker loads the weights (a URI, or
 * 'default' for the pinned artifact); new weights uploaded under the same URI are not noticed,
 * so publish a new model under a new URI.
 *
 * A resubmission of an incremental run applies the same filter to the same listing, so shard i
 * holds the same images again (the base's metadata no longer changes once it finished).
 */
export interface IncrementalBase {
  run: string;
  /** Null when the model differs: every image is processed. */
  pairs: UriEtagSet | null;
}

/** The base run's record, or ConfigError when it is unknown or not finished. */
export async function checkBaseRun(registry: RunRegistry, since: string, prefix: string): Promise<RunRecord> {
  const base = await registry.get(since);
  if (base === null)
    throw new ConfigError(
      `--since run ${since} is not registered under QUEUE_PREFIX ${prefix}; give the id of a finished run (resnet-batch status <run>), or submit without --since`,
    );
  if (base.finishedAt === null)
    throw new ConfigError(
      `--since run ${since} has not finished (state ${base.state}); wait until it has, or submit without --since`,
    );
  return base;
}

export async function loadIncrementalBase(
  base: RunRecord,
  model: Pick<RunRecord, 'model' | 'precision'>,
  registry: RunRegistry,
  openStore: StoreOpener,
  logger?: Logger,
): Promise<IncrementalBase> {
  if (!sameModel(base, model)) {
    logger?.info(
      { since: base.run, baseModel: base.model, basePrecision: base.precision, ...model },
      `model or precision differs from base run ${base.run}: every image is processed`,
    );
    return { run: base.run, pairs: null };
  }
  const pairs = new UriEtagSet();
  const chain: string[] = [];
  for (let link: RunRecord | null = base; link !== null; link = await previousLink(link, registry, chain)) {
    chain.push(link.run);
    const store = openStore(link.output);
    try {
      await loadPreviousResults(store, link.output, link.run, pairs);
    } finally {
      await store.close();
    }
  }
  logger?.info(
    { since: base.run, chain, processed: pairs.size },
    `base run ${base.run}: ${pairs.size} processed image(s) to compare against, from ${chain.length} run(s)`,
  );
  return { run: base.run, pairs: pairs.freeze() };
}

/** Runs followed at most through `since` links: a chain of years of daily incremental runs. */
export const MAX_CHAIN_LENGTH = 5000;

/**
 * The base of an incremental `link`, when that base's results count too: it exists, finished, and
 * ran the same model (otherwise `link` processed everything itself and the chain ends there).
 */
async function previousLink(
  link: RunRecord,
  registry: RunRegistry,
  seen: readonly string[],
): Promise<RunRecord | null> {
  if (!link.since || seen.includes(link.since) || seen.length >= MAX_CHAIN_LENGTH) return null;
  const previous = await registry.get(link.since);
  return previous?.finishedAt && sameModel(previous, link) ? previous : null;
}

/** Results are comparable only between runs of one model reference at one precision. */
function sameModel(a: Pick<RunRecord, 'model' | 'precision'>, b: Pick<RunRecord, 'model' | 'precision'>): boolean {
  return a.model === b.model && a.precision === b.precision;
}

/** Yields each page without its unchanged images (empty pages are dropped) and reports those. */
export async function* filterUnchanged<T extends ObjectInfo>(
  pages: AsyncIterable<T[]>,
  pairs: UriEtagSet | null,
  onUnchanged: (info: T) => void,
): AsyncGenerator<T[]> {
  for await (const page of pages) {
    if (pairs === null) {
      yield page;
      continue;
    }
    const kept = page.filter((info) => {
      if (info.etag === '' || !pairs.has(info.uri, info.etag)) return true;
      onUnchanged(info);
      return false;
    });
    if (kept.length > 0) yield kept;
  }
}
