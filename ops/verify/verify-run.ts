import { filterUnchanged, type IncrementalBase } from '../../producer/incremental-filter.ts';
import type { InputListing } from '../../producer/list-inputs.ts';
import { selectImages } from '../../producer/select-images.ts';
import { type Shard, shardListing } from '../../producer/shard-listing.ts';
import { partPath, type RunManifest } from '../../shared/output/output-format.ts';
import { type CommitMarker, markerOf, type PartRow, shardRowsOf } from '../../shared/output/read-parts.ts';
import type { ImageRef } from '../../shared/queue/job-payload.ts';
import type { RunDefinition } from '../../shared/run/run-definition.ts';
import { shardDigest } from '../../shared/run/shard-digest.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { checkShardChecksums, readShardBytes } from './shard-bytes.ts';
import { checkManifestCounts, findUnexpectedParts, type MarkerTotals, readCheckedManifest } from './verify-manifest.ts';

/**
 * What `resnet-batch verify` checks, from storage alone: the run's input is listed again exactly
 * as submit listed it (the same definition: selection, incremental filter, shard size), and each
 * shard it yields is compared with what the output holds for it:
 *   - missing: the shard is not committed, an input of it has no row, a part of a committed
 *     shard is gone, or `_manifest.json` is;
 *   - duplicated: an input has more than one row (in metadata/ and errors/ together);
 *   - unexpected: a row for something the shard does not hold, or an object in a part folder
 *     that is no part of the run (another name, a shard the run has not);
 *   - mismatched: the shard was committed for other inputs (the input changed since), a row's
 *     ETag is not the input's (the object changed after it was processed), the .npy does not
 *     have one vector per metadata row, or the manifest's counts are not the markers';
 *   - damaged: a part's bytes are not those its commit marker and the manifest record (sha256,
 *     so two vectors swapped inside a .npy count), or the manifest is not what its own digest
 *     records (output-format.ts, Checksums).
 * Parts of runs written before checksums are counted as unverified bytes, not as problems.
 * Nothing is written. Each part is read once; memory is SHARDS_IN_FLIGHT shards at a time.
 */
export interface VerifyReport {
  run: string;
  inputs: number;
  shards: number;
  rows: { ok: number; error: number };
  problems: {
    missing: number;
    duplicated: number;
    unexpected: number;
    mismatched: number;
    damaged: number;
  };
  /** Parts (and the manifest) whose sha256 was recomputed and matched, and those with none recorded. */
  bytes: { checked: number; unverified: number };
  /** The first problems in words, for people (at most MAX_DETAILS). */
  details: string[];
}

type ProblemKind = keyof VerifyReport['problems'];
type Problem = (kind: ProblemKind, detail: string) => void;

export const MAX_DETAILS = 50;

/** Shards read at once: enough to hide S3 latency (3 parts each), few enough to keep memory small. */
export const SHARDS_IN_FLIGHT = 8;

/**
 * Told after each batch of shards: shards verified so far, of how many the manifest says (null
 * without one), and bytes read, for a progress line.
 */
export type VerifyProgress = (progress: { shards: number; of: number | null; bytes: number }) => void;

export async function verifyRun(
  definition: RunDefinition,
  listing: InputListing,
  incremental: IncrementalBase | null,
  store: ObjectStore,
  onProgress: VerifyProgress = () => undefined,
): Promise<VerifyReport> {
  const report: VerifyReport = {
    run: definition.run,
    inputs: 0,
    shards: 0,
    rows: { ok: 0, error: 0 },
    problems: { missing: 0, duplicated: 0, unexpected: 0, mismatched: 0, damaged: 0 },
    bytes: { checked: 0, unverified: 0 },
    details: [],
  };
  const problem: Problem = (kind, detail) => {
    report.problems[kind] += 1;
    if (report.details.length < MAX_DETAILS) report.details.push(`${kind}: ${detail}`);
  };
  const checked = await readCheckedManifest(store, definition.output, definition.run, problem);
  if (checked !== null) report.bytes[checked.digestChecked ? 'checked' : 'unverified'] += 1;
  const context: ShardContext = { definition, store, report, problem, manifest: checked?.manifest ?? null };
  const markers: MarkerTotals = { shards: 0, ok: 0, error: 0 };
  let bytesRead = 0;
  const selected = selectImages(listing.pages);
  const changed = filterUnchanged(selected, incremental?.pairs ?? null, () => undefined);
  let batch: Shard[] = [];
  const flush = async (): Promise<void> => {
    const done = await Promise.all(batch.map((shard) => verifyShard(shard, context)));
    for (const shard of done) {
      bytesRead += shard.bytesRead;
      if (shard.marker === null) continue;
      markers.shards += 1;
      markers.ok += shard.marker.ok;
      markers.error += shard.marker.error;
    }
    batch = [];
    onProgress({ shards: report.shards, of: checked?.manifest.shards.total ?? null, bytes: bytesRead });
  };
  for await (const shard of shardListing(changed, definition.shard_size)) {
    report.shards += 1;
    report.inputs += shard.images.length;
    batch.push(shard);
    if (batch.length >= SHARDS_IN_FLIGHT) await flush();
  }
  await flush();
  if (checked !== null) checkManifestCounts(checked.manifest, report.shards, markers, problem);
  await findUnexpectedParts(store, definition.output, definition.run, report.shards, problem);
  return report;
}

interface ShardContext {
  definition: RunDefinition;
  store: ObjectStore;
  report: VerifyReport;
  problem: Problem;
  manifest: RunManifest | null;
}

/** Checks one shard's parts; returns its marker (null when not committed or unreadable) and bytes read. */
async function verifyShard(
  shard: Shard,
  { definition, store, report, problem, manifest }: ShardContext,
): Promise<{ marker: CommitMarker | null; bytesRead: number }> {
  const bytes = await readShardBytes(store, definition.output, definition.run, shard.index);
  const uncommitted = { marker: null, bytesRead: bytes.bytesRead };
  if (bytes.errors === null) {
    problem(
      'missing',
      `shard ${shard.index} is not committed (${partPath('errors', shard.index)}, its commit marker, is missing): its ${shard.images.length} inputs have no rows`,
    );
    return uncommitted;
  }
  let marker: CommitMarker;
  try {
    marker = markerOf(shard.index, bytes.errors.bytes);
  } catch (error) {
    problem('damaged', `errors part of shard ${shard.index} cannot be read (${(error as Error).message})`);
    return uncommitted;
  }
  for (const outcome of checkShardChecksums(shard.index, bytes, marker, manifest?.parts_sha256, problem))
    if (outcome !== 'problem') report.bytes[outcome] += 1;
  if (marker.inputsDigest !== '' && marker.inputsDigest !== shardDigest(shard.images)) {
    problem(
      'mismatched',
      `shard ${shard.index} was committed for other inputs than the input lists now (it changed since the run)`,
    );
  }
  const columns = { ok: ['uri', 'etag'], error: ['uri', 'etag'] };
  let rows: { ok: PartRow[]; errors: PartRow[] } = { ok: [], errors: [] };
  try {
    if (bytes.metadata !== null) rows = shardRowsOf(shard.index, bytes.metadata.bytes, bytes.errors.bytes, columns);
  } catch (error) {
    problem('damaged', `the rows of shard ${shard.index} cannot be read (${(error as Error).message})`);
    return { marker, bytesRead: bytes.bytesRead };
  }
  report.rows.ok += rows.ok.length;
  report.rows.error += rows.errors.length;
  const vectors = bytes.embeddings?.vectors ?? null;
  if (vectors !== null && vectors !== rows.ok.length) {
    problem('mismatched', `shard ${shard.index}: ${rows.ok.length} metadata rows but ${vectors} vectors in its .npy`);
  }
  checkRows(shard, rows, problem);
  return { marker, bytesRead: bytes.bytesRead };
}

/** Each input of the shard has exactly one row, and each row is for an input of it, at its ETag. */
function checkRows(shard: Shard, rows: { ok: PartRow[]; errors: PartRow[] }, problem: Problem): void {
  const expected = new Map<string, ImageRef>(shard.images.map((image) => [image.uri, image]));
  const seen = new Map<string, number>();
  for (const row of [...rows.ok, ...rows.errors]) {
    const uri = String(row.uri);
    seen.set(uri, (seen.get(uri) ?? 0) + 1);
    const image = expected.get(uri);
    if (image === undefined) problem('unexpected', `shard ${shard.index} has a row for ${uri}, which it does not hold`);
    else if (image.etag !== '' && row.etag !== '' && String(row.etag) !== image.etag) {
      problem('mismatched', `${uri}: its row is for ETag ${String(row.etag)}, the input's is ${image.etag} now`);
    }
  }
  for (const [uri, count] of seen)
    if (count > 1 && expected.has(uri)) problem('duplicated', `${uri} has ${count} rows in shard ${shard.index}`);
  for (const uri of expected.keys())
    if (!seen.has(uri)) problem('missing', `${uri} has no row in shard ${shard.index}`);
}
