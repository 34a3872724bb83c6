import type { ErrorRow, MetadataRow } from '../shared/output/columns.ts';
import type { ImageRef } from '../shared/queue/job-payload.ts';
import type { ImageResult } from './image-pipeline.ts';

/**
 * A shard's results split into its parts (shared/output/output-format.ts): the vectors of the
 * images that succeeded, in input order, with their metadata rows in the same order (row i of
 * one is row i of the other), and one error row per input that failed.
 */
export interface ShardParts {
  /** `okCount * width` floats, row-major. */
  vectors: Float32Array;
  width: number;
  /** The engine that computed them, recorded in the commit marker. */
  engineName: string;
  metadata: MetadataRow[];
  errors: ErrorRow[];
}

/** What the shard knows about an image beyond its result: the object its bytes came from. */
export interface FetchedFacts {
  size: number;
  /** ETag returned with the bytes read (the row's etag: what was processed, not what was listed). */
  etag: string;
}

export interface PartsContext {
  modelId: string;
  engineName: string;
  width: number;
  /** Scale every vector to unit L2 length (`--normalize`). */
  normalize: boolean;
  processedAt: Date;
}

export function shardParts(
  results: readonly ImageResult<ImageRef>[],
  fetched: ReadonlyMap<ImageRef, FetchedFacts>,
  context: PartsContext,
): ShardParts {
  const ok = results.filter((result) => result.status === 'ok');
  const vectors = new Float32Array(ok.length * context.width);
  ok.forEach((result, row) => {
    vectors.set(context.normalize ? l2Normalized(result.embedding) : result.embedding, row * context.width);
  });
  const common = (image: ImageRef) => ({
    uri: image.uri,
    // The object may have changed between listing and fetch: the row describes the bytes read.
    etag: fetched.get(image)?.etag ?? image.etag,
    // A manifest line need not give a size (-1): the bytes read are the truth; an input that
    // could not be read at all and had no listed size gets 0.
    sizeBytes: fetched.get(image)?.size ?? Math.max(image.size, 0),
    processedAt: context.processedAt,
    fields: image.fields ?? {},
  });
  const metadata = ok.map(
    (result): MetadataRow => ({
      ...common(result.key),
      width: result.width,
      height: result.height,
      topLabels: result.top.map((entry) => entry.label),
      topIndices: result.top.map((entry) => entry.index),
      topScores: result.top.map((entry) => entry.score),
      model: context.modelId,
      engine: context.engineName,
    }),
  );
  const errors = results.flatMap((result): ErrorRow[] =>
    result.status === 'error' ? [{ ...common(result.key), error: `${result.code}: ${result.error}` }] : [],
  );
  return { vectors, width: context.width, engineName: context.engineName, metadata, errors };
}

/**
 * The vector scaled to unit length, for inner-product search (FAISS IndexFlatIP, autofaiss's
 * default) to rank by cosine. An all-zero vector stays zero rather than becoming NaN.
 */
export function l2Normalized(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  if (sum === 0) return vector;
  const scale = 1 / Math.sqrt(sum);
  return vector.map((value) => value * scale);
}
