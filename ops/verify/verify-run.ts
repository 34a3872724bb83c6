import { filterUnchanged, type IncrementalBase } from '../../producer/incremental-filter.ts';
import type { InputListing } from '../../producer/list-inputs.ts';
import { selectImages } from '../../producer/select-images.ts';
import { type Shard, shardListing } from '../../producer/shard-listing.ts';
import { listParts, readCommitMarker, readShard, vectorCount } from '../../shared/output/read-parts.ts';
import type { ImageRef } from '../../shared/queue/job-payload.ts';
import type { RunDefinition } from '../../shared/run/run-definition.ts';
import { shardDigest } from '../../shared/run/shard-digest.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';

/**
 * What `resnet-batch verify` checks, from storage alone: the run's input is listed again exactly
 * as submit listed it (the same definition: selection, incremental filter, shard size), and each
 * shard it yields is compared with what the output holds for it:
 *   - missing: the shard is not committed, or an input of it has no row;
 *   - duplicated: an input has more than one row (in metadata/ and errors/ together);
 *   - unexpected: a row for something the shard does not hold, or a part of a shard the run has not;
 *   - mismatched: the shard was committed for other inputs (the input changed since), a row's
 *     ETag is not the input's (the object changed after it was processed), or the .npy does not
 *     have one vector per metadata row.
 * Nothing is written. Memory is one shard's listing and rows at a time.
 */
export interface VerifyReport {
  run: string;
  inputs: number;
  shards: number;
  rows: { ok: number; error: number };
  problems: { missing: number; duplicated: number; unexpected: number; mismatched: number };
  /** The first problems in words, for people (at most MAX_DETAILS). */
  details: string[];
}

export const MAX_DETAILS = 50;

export async function verifyRun(
  definition: RunDefinition,
  listing: InputListing,
  incremental: IncrementalBase | null,
  store: ObjectStore,
): Promise<VerifyReport> {
  const report: VerifyReport = {
    run: definition.run,
    inputs: 0,
    shards: 0,
    rows: { ok: 0, error: 0 },
    problems: { missing: 0, duplicated: 0, unexpected: 0, mismatched: 0 },
    details: [],
  };
  const problem = (kind: keyof VerifyReport['problems'], detail: string): void => {
    report.problems[kind] += 1;
    if (report.details.length < MAX_DETAILS) report.details.push(`${kind}: ${detail}`);
  };
  const selected = selectImages(listing.pages);
  const changed = filterUnchanged(selected, incremental?.pairs ?? null, () => undefined);
  for await (const shard of shardListing(changed, definition.shard_size)) {
    report.shards += 1;
    report.inputs += shard.images.length;
    await verifyShard(shard, definition, store, report, problem);
  }
  for (const part of await listParts(store, definition.output, definition.run, 'errors')) {
    if (part.shard >= report.shards)
      problem('unexpected', `shard ${part.shard} is on storage, but the run has ${report.shards} shards`);
  }
  return report;
}

async function verifyShard(
  shard: Shard,
  definition: RunDefinition,
  store: ObjectStore,
  report: VerifyReport,
  problem: (kind: keyof VerifyReport['problems'], detail: string) => void,
): Promise<void> {
  const marker = await readCommitMarker(store, definition.output, definition.run, shard.index);
  if (marker === null) {
    problem(
      'missing',
      `shard ${shard.index} is not committed (no errors part): its ${shard.images.length} inputs have no rows`,
    );
    return;
  }
  if (marker.inputsDigest !== '' && marker.inputsDigest !== shardDigest(shard.images)) {
    problem(
      'mismatched',
      `shard ${shard.index} was committed for other inputs than the input lists now (it changed since the run)`,
    );
  }
  const rows = await shardRows(store, definition, shard.index);
  report.rows.ok += rows.ok.length;
  report.rows.error += rows.errors.length;
  if (rows.vectors !== null && rows.vectors !== rows.ok.length) {
    problem(
      'mismatched',
      `shard ${shard.index}: ${rows.ok.length} metadata rows but ${rows.vectors} vectors in its .npy`,
    );
  }
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

async function shardRows(store: ObjectStore, definition: RunDefinition, shard: number) {
  const columns = { ok: ['uri', 'etag'], error: ['uri', 'etag'] };
  const rows = await readShard(store, definition.output, definition.run, shard, columns);
  const vectors = await vectorCount(store, definition.output, definition.run, shard);
  return { ok: rows?.ok ?? [], errors: rows?.errors ?? [], vectors };
}
