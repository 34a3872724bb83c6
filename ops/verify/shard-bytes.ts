import { createHash } from 'node:crypto';
import { ObjectNotFoundError } from '../../shared/errors.ts';
import { type PartKind, partKey, partPath } from '../../shared/output/output-format.ts';
import { type CommitMarker, MAX_PART_BYTES, NPY_PREAMBLE_BYTES, npyRowCount } from '../../shared/output/read-parts.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';

/**
 * One shard's parts as `verify` reads them: each part once, hashed as it is read. The Parquet
 * parts are kept (verify reads their rows; one shard's part is a few tens of kB, at most
 * MAX_PART_BYTES); the .npy is streamed through the hash and only its header is kept, so memory
 * does not grow with the vector width or the shard size.
 */
export interface ShardBytes {
  /** The errors part (the commit marker), or null when absent. */
  errors: { bytes: Buffer; sha256: string } | null;
  metadata: { bytes: Buffer; sha256: string } | null;
  /** The .npy's checksum and first dimension, or null when absent. */
  embeddings: { sha256: string; vectors: number } | null;
  /** Bytes read for this shard, for the progress line. */
  bytesRead: number;
}

export async function readShardBytes(
  store: ObjectStore,
  output: string,
  run: string,
  shard: number,
): Promise<ShardBytes> {
  const [errors, metadata, embeddings] = await Promise.all([
    readWhole(store, partKey(output, run, 'errors', shard)),
    readWhole(store, partKey(output, run, 'metadata', shard)),
    streamNpy(store, partKey(output, run, 'embeddings', shard)),
  ]);
  const bytesRead = (errors?.bytes.length ?? 0) + (metadata?.bytes.length ?? 0) + (embeddings?.size ?? 0);
  return { errors, metadata, embeddings, bytesRead };
}

async function readWhole(store: ObjectStore, uri: string): Promise<{ bytes: Buffer; sha256: string } | null> {
  try {
    const bytes = await store.read(uri, { maxBytes: MAX_PART_BYTES });
    return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return null;
    throw error;
  }
}

async function streamNpy(
  store: ObjectStore,
  uri: string,
): Promise<{ sha256: string; vectors: number; size: number } | null> {
  let stream: AsyncIterable<Buffer>;
  try {
    stream = await store.readStream(uri);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return null;
    throw error;
  }
  const hash = createHash('sha256');
  let head = Buffer.alloc(0);
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.length;
    // The header is at most 64 kB (its length is a uint16): keep bytes only until it is whole.
    if (head.length < NPY_PREAMBLE_BYTES || head.length < NPY_PREAMBLE_BYTES + head.readUInt16LE(8))
      head = Buffer.concat([head, chunk]);
  }
  return { sha256: hash.digest('hex'), vectors: size === 0 ? 0 : npyRowCount(uri, head), size };
}

/** What a part's checksum check found: matched a record, had none to match, or a problem. */
export type ChecksumOutcome = 'checked' | 'unverified' | 'problem';

/**
 * Compares each part of a committed shard with the checksums recorded for it: in its commit
 * marker (the data parts) and in the manifest (every part). A part with no record at all (a run
 * written before checksums) is 'unverified'; a missing part or other bytes is a problem, named.
 */
export function checkShardChecksums(
  shard: number,
  bytes: ShardBytes,
  marker: CommitMarker,
  manifestSums: Record<string, string> | undefined,
  problem: (kind: 'missing' | 'damaged', detail: string) => void,
): ChecksumOutcome[] {
  const actual: Record<PartKind, string | undefined> = {
    embeddings: bytes.embeddings?.sha256,
    metadata: bytes.metadata?.sha256,
    errors: bytes.errors?.sha256,
  };
  const inMarker: Record<PartKind, string | undefined> = {
    embeddings: marker.partsSha256?.embeddings,
    metadata: marker.partsSha256?.metadata,
    errors: undefined,
  };
  return (['embeddings', 'metadata', 'errors'] as const).map((kind) => {
    const path = partPath(kind, shard);
    const sha256 = actual[kind];
    if (sha256 === undefined) {
      problem('missing', `${path} is missing, though shard ${shard} is committed`);
      return 'problem';
    }
    const records = [
      { where: 'its commit marker', value: inMarker[kind] },
      { where: '_manifest.json', value: manifestSums?.[path] },
    ].filter((record) => record.value !== undefined);
    if (records.length === 0) return 'unverified';
    const differing = records.filter((record) => record.value !== sha256).map((record) => record.where);
    if (differing.length === 0) return 'checked';
    problem(
      'damaged',
      `${path}: its bytes do not match the sha256 recorded in ${differing.join(' and ')} (the part was changed, truncated or reordered after it was written)`,
    );
    return 'problem';
  });
}
