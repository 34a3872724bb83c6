import { errorsKey, partFolder, type RunManifest } from '../../shared/output/output-format.ts';
import { readManifest } from '../../shared/output/read-parts.ts';
import type { RunRecord } from '../../shared/run/run-record.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { makeThumbnails } from './make-thumbnails.ts';
import { readReportRows } from './read-metadata.ts';
import type { FailedFile, FailedShard, ReportData, ReportTotals } from './report-data.ts';
import { RunTally } from './run-tally.ts';
import { throughputBuckets } from './throughput-buckets.ts';

export interface CollectOptions {
  /** Opens the store of a URI (shared/storage/open-store.ts openStore in production). */
  openStore: (uri: string) => ObjectStore;
  /** Classes in the label chart. Default 25. */
  topLabels?: number;
  /** Classes that get a row of thumbnails. Default 8. */
  sampleClasses?: number;
  /** Thumbnails per class, the most confident images. Default 6. */
  samplesPerClass?: number;
  /** Total thumbnail budget in bytes; see make-thumbnails.ts. */
  maxThumbnailBytes?: number;
  /** Largest source image fetched for a thumbnail, in bytes. */
  maxImageBytes: number;
  /** Largest source image decoded for a thumbnail, width x height. */
  maxImagePixels: number;
  /** The run's failed shards with their reasons and images (read from the queue by report-command.ts). */
  failedShards?: FailedShard[];
  /** Rows of the failed-files table. Default 100. */
  failedFilesShown?: number;
  now?: Date;
}

/** Reads everything the report shows about a run: its metadata parts, manifest and sample images. */
export async function collectReport(record: RunRecord, options: CollectOptions): Promise<ReportData> {
  const samplesPerClass = options.samplesPerClass ?? 6;
  const failedFilesShown = options.failedFilesShown ?? 100;
  const tally = new RunTally(samplesPerClass, failedFilesShown);
  const store = options.openStore(record.output);
  const shards = new Set<number>();
  let manifest: RunManifest | null;
  try {
    manifest = await readManifest(store, record.output, record.run);
    for await (const row of readReportRows(store, record.output, record.run)) {
      tally.add(row);
      shards.add(row.shard);
    }
  } finally {
    await store.close();
  }
  const labels = tally.topLabels(options.topLabels ?? 25);
  const sampled = labels.slice(0, options.sampleClasses ?? 8);
  const { thumbnails, omitted } = await makeThumbnails(
    sampled.map((entry) => tally.samples(entry.label)),
    {
      openStore: options.openStore,
      maxTotalBytes: options.maxThumbnailBytes,
      maxImageBytes: options.maxImageBytes,
      maxImagePixels: options.maxImagePixels,
    },
  );
  return {
    run: record.run,
    generatedAt: (options.now ?? new Date()).toISOString(),
    totals: manifest ? totalsFromManifest(manifest, record) : totalsFromRecord(record),
    rowsRead: tally.rows,
    partsRead: shards.size,
    throughput: throughputBuckets(tally.perSecond),
    labels,
    errors: tally.errors(),
    failedShards: options.failedShards ?? [],
    finalizeError: record.finalizeError,
    failedFiles: failedFiles(record, tally, options.failedShards ?? [], failedFilesShown),
    // partFolder's URI has no trailing '/' (joinUri drops it); the page appends part-*.parquet to it.
    errorsFolder: `${partFolder(record.output, record.run, 'errors').replace(/\/*$/, '')}/`,
    samples: sampled.map((entry, i) => ({ label: entry.label, count: entry.count, thumbnails: thumbnails[i]! })),
    thumbnailsOmitted: omitted,
  };
}

/** Images of failed shards first (they have no row at all), then the error rows in shard order. */
function failedFiles(record: RunRecord, tally: RunTally, failedShards: FailedShard[], limit: number) {
  const shown: FailedFile[] = [];
  let total = tally.errorRows;
  for (const failed of failedShards) {
    total += failed.uris.length;
    const reason = `shard ${failed.shard} failed, no row: ${failed.reason ?? 'reason unknown (its job is gone)'}`;
    for (const uri of failed.uris) if (shown.length < limit) shown.push({ uri, reason, part: null });
  }
  for (const row of tally.firstErrorRows) {
    if (shown.length >= limit) break;
    shown.push({
      uri: row.uri,
      reason: row.error ?? 'UNKNOWN',
      part: errorsKey(record.output, record.run, row.shard),
    });
  }
  return { shown, total };
}

function totalsFromManifest(manifest: RunManifest, record: RunRecord): ReportTotals {
  return {
    source: 'manifest',
    state: record.state,
    input: manifest.input,
    output: manifest.output,
    model: `${manifest.model.id} (weights sha256 ${manifest.model.weights_sha256.slice(0, 12)}…)`,
    engines: manifest.engines,
    images: manifest.images,
    shards: {
      total: manifest.shards.total,
      done: manifest.shards.done,
      failed: manifest.shards.failed,
      failedShards: manifest.shards.failed_shards ?? [],
    },
    startedAt: manifest.started_at,
    finishedAt: manifest.finished_at,
  };
}

function totalsFromRecord(record: RunRecord): ReportTotals {
  return {
    source: 'run record',
    state: record.state,
    input: record.input,
    output: record.output,
    model: record.model,
    engines: record.engines,
    images: record.images,
    shards: record.shards,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
  };
}
