/**
 * Where a calibrated int8 graph lives inside a model folder (int8-artifact.ts says what the files
 * hold). A module of its own, free of imports: remote-model-cache.ts, on every worker's start-up
 * path, needs the names only, not the calibration schema (zod) beside them.
 */
export const INT8_LAYOUT = {
  model: 'int8/model.onnx',
  calibration: 'int8/calibration.json',
} as const;
