/**
 * Typed initializers (float32, int8, uint8, int32) for a decoded ModelProto, and reading a float
 * initializer back. The graph writer (onnx-graph-writer.ts) adds float weights only; the int8
 * graph (quantize-graph.ts) needs the integer types and per-tensor scalars too.
 */
import onnxProto, { type onnx as OnnxSchema } from 'onnx-proto';
import type { PlainTensor } from './fold-batch-norm.ts';

const { onnx } = onnxProto;

export type TensorProto = OnnxSchema.TensorProto;
export const DATA_TYPE = onnx.TensorProto.DataType;

type TypedValues = Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

const DATA_TYPE_OF = (values: TypedValues): number => {
  if (values instanceof Float32Array) return DATA_TYPE.FLOAT;
  if (values instanceof Int8Array) return DATA_TYPE.INT8;
  if (values instanceof Uint8Array) return DATA_TYPE.UINT8;
  if (values instanceof BigInt64Array) return DATA_TYPE.INT64;
  return DATA_TYPE.INT32;
};

/**
 * A constant of the values' own type. `dims` [] makes a scalar (what QuantizeLinear wants for a
 * per-tensor scale and zero point). raw_data is little-endian by the ONNX spec, which is host
 * order on every platform onnxruntime-node ships for (x64, arm64).
 */
export type { TypedValues };

export function tensorProto(name: string, dims: readonly number[], values: TypedValues): TensorProto {
  const rawData = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return onnx.TensorProto.create({ name, dims: [...dims], dataType: DATA_TYPE_OF(values), rawData });
}

/** A float32 initializer as a PlainTensor (a copy, aligned for Float32Array). */
export function readFloatTensor(tensor: TensorProto): PlainTensor {
  if (tensor.dataType !== DATA_TYPE.FLOAT || !tensor.rawData || tensor.rawData.length === 0) {
    throw new RangeError(`initializer ${tensor.name} is not a float32 tensor with raw_data`);
  }
  // A copy: decoded raw_data is a view into the whole model's bytes (a Buffer, whose slice() is
  // a view too), at an offset Float32Array may not start at.
  const bytes = new Uint8Array(tensor.rawData);
  return { shape: (tensor.dims ?? []).map(Number), values: new Float32Array(bytes.buffer, 0, bytes.length / 4) };
}
