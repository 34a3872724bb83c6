import { ObjectNotFoundError } from '../../shared/errors.ts';
import { manifestDigest } from '../../shared/output/manifest-digest.ts';
import { manifestKey, type PartKind, type RunManifest, shardOfPartName } from '../../shared/output/output-format.ts';
import { MAX_PART_BYTES } from '../../shared/output/read-parts.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { joinUri, relativeKeyWithin } from '../../shared/storage/uri.ts';

type Problem = (kind: 'missing' | 'damaged' | 'unexpected' | 'mismatched', detail: string) => void;

/**
 * The run's `_manifest.json` as verify trusts it: null when missing or unreadable (a problem,
 * named), else the manifest with `verified` saying whether its own digest was there to check.
 * A manifest whose digest does not match is reported and still returned: its other records
 * (the parts' checksums) are then compared too, so every changed part is named as well.
 */
export async function readCheckedManifest(
  store: ObjectStore,
  output: string,
  run: string,
  problem: Problem,
): Promise<{ manifest: RunManifest; digestChecked: boolean } | null> {
  let text: string;
  try {
    text = (await store.read(manifestKey(output, run), { maxBytes: MAX_PART_BYTES })).toString('utf8');
  } catch (error) {
    if (!(error instanceof ObjectNotFoundError)) throw error;
    problem('missing', '_manifest.json is missing (the run has not finished, or the file was deleted)');
    return null;
  }
  let manifest: RunManifest;
  try {
    manifest = JSON.parse(text) as RunManifest;
    if (typeof manifest !== 'object' || manifest === null || typeof manifest.shards?.total !== 'number')
      throw new Error('no shards.total');
  } catch (error) {
    problem('damaged', `_manifest.json is not a run manifest (${(error as Error).message})`);
    return null;
  }
  if (manifest.manifest_sha256 === undefined) return { manifest, digestChecked: false };
  if (manifest.manifest_sha256 !== manifestDigest(manifest))
    problem('damaged', '_manifest.json was edited or damaged: its content no longer matches its manifest_sha256');
  return { manifest, digestChecked: true };
}

/** What the committed shards' markers add up to, for comparing with the manifest. */
export interface MarkerTotals {
  shards: number;
  ok: number;
  error: number;
}

/** The manifest's shard total and counts against the input's shards and the markers' counts. */
export function checkManifestCounts(
  manifest: RunManifest,
  inputShards: number,
  markers: MarkerTotals,
  problem: Problem,
): void {
  if (manifest.shards.total !== inputShards)
    problem('mismatched', `_manifest.json says ${manifest.shards.total} shards, the input makes ${inputShards}`);
  const counted = `${markers.ok} ok, ${markers.error} error in ${markers.shards} shards`;
  const recorded = `${manifest.images?.ok} ok, ${manifest.images?.error} error in ${manifest.shards.done} shards`;
  if (recorded !== counted)
    problem('mismatched', `_manifest.json counts ${recorded}; the commit markers on storage count ${counted}`);
}

const PART_KINDS: readonly PartKind[] = ['embeddings', 'metadata', 'errors'];

/**
 * Every object in the run's part folders that is no part of the run: a name that is not a part
 * of its folder, or a shard index the run does not have. One listing, page by page; objects
 * elsewhere under `<output>/<run>/` (reports, `_run.json`) are not verify's to judge.
 */
export async function findUnexpectedParts(
  store: ObjectStore,
  output: string,
  run: string,
  shards: number,
  problem: Problem,
): Promise<void> {
  const runFolder = joinUri(output, `${run}/`);
  for await (const page of store.list(runFolder)) {
    for (const info of page) {
      const path = relativeKeyWithin(runFolder, info.uri) ?? '';
      const [kind, name, ...deeper] = path.split('/');
      if (!PART_KINDS.includes(kind as PartKind) || name === undefined) continue;
      const shard = deeper.length === 0 ? shardOfPartName(name, kind as PartKind) : null;
      if (shard === null) problem('unexpected', `${path} is not a part of the layout (output-format.ts)`);
      else if (shard >= shards)
        problem('unexpected', `${path}: shard ${shard} is on storage, but the run has ${shards} shards`);
    }
  }
}
