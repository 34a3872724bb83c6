/**
 * Accumulates ONNX nodes and initializers and serialises them as a ModelProto with onnx-proto
 * (the protobufjs-generated ONNX schema): the encoding is the library's, never hand-rolled.
 * Knows nothing about ResNet; build-onnx-resnet.ts says what goes in.
 */
import onnxProto from 'onnx-proto';
import type { PlainTensor } from './fold-batch-norm.ts';

const { onnx } = onnxProto;

/**
 * Opset 13: every operator used here (Conv, MaxPool, Relu, Add, GlobalAveragePool, Flatten, Gemm,
 * Softmax over one axis, Transpose) has its current semantics there, and every onnxruntime since
 * 1.6 runs it. IR version 7 is the one that goes with opset 13.
 */
export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 7;

/** An attribute value: an int, a list of ints, or a float. */
export type AttributeValue = number | readonly number[] | { float: number };

/** A graph input or output: float32 with a symbolic batch dimension first. */
export interface GraphValue {
  name: string;
  /** Dimensions after the batch dimension. */
  dims: readonly number[];
}

export class OnnxGraphWriter {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private parameters = 0;

  /** Number of float parameters added as initializers so far. */
  get parameterCount(): number {
    return this.parameters;
  }

  /** Adds a float32 constant; returns its name for use as a node input. */
  addInitializer(name: string, tensor: PlainTensor): string {
    const values = tensor.values;
    // raw_data is little-endian by the ONNX spec; Float32Array is host order, and every platform
    // onnxruntime-node ships for (x64, arm64) is little-endian.
    const rawData = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    this.initializers.push(
      onnx.TensorProto.create({ name, dims: [...tensor.shape], dataType: onnx.TensorProto.DataType.FLOAT, rawData }),
    );
    this.parameters += values.length;
    return name;
  }

  /** Adds one node whose single output is named `output`; returns `output`. */
  addNode(
    opType: string,
    inputs: readonly string[],
    output: string,
    attributes: Record<string, AttributeValue> = {},
  ): string {
    this.nodes.push(
      onnx.NodeProto.create({
        name: output,
        opType,
        input: [...inputs],
        output: [output],
        attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
      }),
    );
    return output;
  }

  /** Serialises the graph; `inputs` and `outputs` name values already produced by nodes. */
  encode(name: string, inputs: readonly GraphValue[], outputs: readonly GraphValue[], docString: string): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      producerName: 'resnet-batch',
      docString,
      graph: onnx.GraphProto.create({
        name,
        node: this.nodes,
        initializer: this.initializers,
        input: inputs.map(valueInfo),
        output: outputs.map(valueInfo),
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function attribute(name: string, value: AttributeValue): InstanceType<typeof onnx.AttributeProto> {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === 'number') return onnx.AttributeProto.create({ name, type: AttributeType.INT, i: value });
  if ('float' in value) return onnx.AttributeProto.create({ name, type: AttributeType.FLOAT, f: value.float });
  return onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: [...value] });
}

function valueInfo(value: GraphValue): InstanceType<typeof onnx.ValueInfoProto> {
  const dim = [{ dimParam: 'batch' }, ...value.dims.map((dimValue) => ({ dimValue }))];
  return onnx.ValueInfoProto.create({
    name: value.name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim } } },
  });
}
