/**
 * The int8 ResNet: the fp32 graph of build-onnx-resnet.ts rewritten into QDQ form (QuantizeLinear
 * / DequantizeLinear around each op), in exactly the patterns ONNX Runtime's CPU provider fuses
 * into QLinearConv, QLinearAdd and a uint8 MaxPool. A graph that misses a pattern still loads and
 * runs, just partly in fp32 and slower, so test/model/model-int8-graph.test.ts counts the fused
 * ops in ORT's optimized graph.
 *
 * U8S8, the combination VNNI kernels run fast (issue 13: int8 activations ran no faster than fp32):
 * - weights: int8, symmetric, one scale per output channel (quantize-weights.ts);
 * - activations: uint8, one scale per tensor, calibrated (calibrate.ts). A ReLU output gets zero
 *   point 0 and scale max / 255, so the quantize step itself clamps negatives and the Relu node is
 *   dropped (the one way ORT fuses Conv + Relu); a tensor with both signs (a block's last conv and
 *   its projection shortcut, which meet in the Add) gets scale (max - min) / 255 and the zero point
 *   that puts 0 on an integer, each end the percentile of its own tail;
 * - biases: int32 with scale = input scale x weight scale per channel, zero point 0, the only form
 *   ORT folds into QLinearConv;
 * - MaxPool: the same scale and zero point on both sides (the same initializers), so ORT pools uint8;
 * - GlobalAveragePool onward (embedding, classifier, softmax) stays fp32, at no cost;
 * - the image: pixels minus the ImageNet means fit no uint8 scale exactly (a step of ~1.08 is about
 *   +-0.5 grey level of noise, and issue 13 saw +-1 grey level flip 6% of top-1 labels), so the graph
 *   pads, adds the means back and quantizes with scale 1, zero point 0, exact for 8-bit pixels; the
 *   first conv's bias absorbs the means and its padding moves into the Pad.
 * Every consumer gets its own DequantizeLinear: ORT fuses a node unit only when its DQ nodes feed
 * it alone.
 */
import onnxProto, { type onnx as OnnxSchema } from 'onnx-proto';
import { ModelError } from '../../shared/errors.ts';
import { readFloatTensor, type TensorProto, type TypedValues, tensorProto } from './onnx-tensors.ts';
import { biasForInputMean, quantizeBias, quantizePerChannel } from './quantize-weights.ts';

const { onnx } = onnxProto;
/** A node as decoding leaves it: protobufjs fills every repeated field, so these arrays are present. */
type NodeProto = OnnxSchema.INodeProto & { input: string[]; output: string[]; attribute: OnnxSchema.IAttributeProto[] };
type DecodedGraph = OnnxSchema.IGraphProto & { node: NodeProto[]; initializer: TensorProto[] };

/** A float tensor of the fp32 graph whose values are quantized to uint8 in the int8 graph. */
export interface QuantizationPoint {
  tensor: string;
  /** False for ReLU outputs (zero point 0, negatives clamp), true for tensors that hold negatives too. */
  signed: boolean;
}

/**
 * Calibrated range of each quantization point's tensor, by name (calibrate.ts): `min` <= 0 <= `max`,
 * each a high percentile of its tail; `min` is 0 for a ReLU output.
 */
export type ActivationRanges = Readonly<Record<string, { min: number; max: number }>>;

const UINT8_MAX = 255;

/** The tensors the int8 graph quantizes with a calibrated range, in graph order: what calibration measures. */
export function quantizationPoints(fp32: Uint8Array): QuantizationPoint[] {
  const graph = decodeGraph(fp32);
  const consumers = consumersOf(graph.node);
  const points: QuantizationPoint[] = [];
  const quantized = new Set<string>();
  for (const node of graph.node) {
    if (node.opType === 'MaxPool') quantized.add(node.output[0]!);
    if (node.opType !== 'Conv' && node.opType !== 'Add') continue;
    // A Conv's unquantized input is the image: its range is fixed (pixels 0..255), not calibrated.
    for (const input of node.opType === 'Add' ? node.input : []) {
      if (quantized.has(input)) continue;
      points.push({ tensor: input, signed: true });
      quantized.add(input);
    }
    const relu = foldedRelu(node, consumers);
    const point = relu ? { tensor: relu.output[0]!, signed: false } : { tensor: node.output[0]!, signed: true };
    points.push(point);
    quantized.add(point.tensor);
  }
  return points;
}

export interface QuantizeOptions {
  /** The per-channel means the graph's input has had subtracted, in the input's channel order (BGR). */
  inputMean: readonly number[];
  /** The int8 model's doc string: what it is and how it was calibrated. */
  docString: string;
}

/** Rewrites the fp32 graph `fp32` (build-onnx-resnet.ts) into its int8 QDQ form with calibrated `ranges`. */
export function quantizeGraph(fp32: Uint8Array, ranges: ActivationRanges, options: QuantizeOptions): Uint8Array {
  const model = onnx.ModelProto.decode(fp32);
  // Decoding fills every repeated field, so the graph is the class (arrays present), not the interface.
  const graph = model.graph as DecodedGraph | null | undefined;
  if (!graph) throw new ModelError('the fp32 ONNX model has no graph; regenerate it');
  const rewriter = new QdqRewriter(graph.initializer, consumersOf(graph.node), ranges, options.inputMean);
  for (const node of graph.node) rewriter.rewrite(node);
  graph.node = rewriter.nodes;
  graph.initializer = rewriter.initializers();
  model.docString = options.docString;
  return onnx.ModelProto.encode(model).finish();
}

interface Quantized {
  /** The uint8 tensor. */
  name: string;
  scale: string;
  zeroPoint: string;
  scaleValue: number;
}

class QdqRewriter {
  readonly nodes: NodeProto[] = [];
  private readonly added: TensorProto[] = [];
  private readonly weights: Map<string, TensorProto>;
  private readonly consumedWeights = new Set<string>();
  private readonly quantized = new Map<string, Quantized>();
  /** Float tensors replaced by their uint8 form (a folded ReLU's output, a pooled tensor): consumers dequantize. */
  private readonly folded = new Set<string>();
  private dequantizeCount = 0;

  constructor(
    initializers: TensorProto[],
    private readonly consumers: Map<string, NodeProto[]>,
    private readonly ranges: ActivationRanges,
    private readonly inputMean: readonly number[],
  ) {
    this.weights = new Map(initializers.map((tensor) => [tensor.name, tensor]));
  }

  initializers(): TensorProto[] {
    const kept = [...this.weights.values()].filter((tensor) => !this.consumedWeights.has(tensor.name));
    return [...kept, ...this.added];
  }

  rewrite(node: NodeProto): void {
    if (node.opType === 'Relu' && this.folded.has(node.output[0]!)) return;
    if (node.opType === 'Conv') this.conv(node);
    else if (node.opType === 'Add') this.add(node);
    else if (node.opType === 'MaxPool') this.maxPool(node);
    else this.passThrough(node);
  }

  /** An op that stays fp32 (Transpose, GlobalAveragePool onward): dequantizes what it reads. */
  private passThrough(node: NodeProto): void {
    const inputs = node.input.map((input) => (this.folded.has(input) ? this.dequantize(input) : input));
    this.nodes.push(makeNode({ ...node, input: inputs }));
  }

  private conv(node: NodeProto): void {
    const [input, weightName, biasName] = node.input as [string, string, string];
    const weight = this.takeFloat(weightName);
    let bias = this.takeFloat(biasName).values;
    let attribute = node.attribute;
    if (!this.quantized.has(input)) {
      this.quantizePixels(input, node);
      bias = biasForInputMean(weight, bias, this.inputMean);
      attribute = attribute.map((entry) =>
        entry.name === 'pads' ? onnx.AttributeProto.create({ ...entry, ints: (entry.ints ?? []).map(() => 0) }) : entry,
      );
    }
    const x = this.quantized.get(input)!;
    const weights = quantizePerChannel(weight);
    const biases = quantizeBias(bias, x.scaleValue, weights.scales);
    this.addConstant(weightName, weight.shape, weights.values, weights.scales, new Int8Array(weights.scales.length));
    this.addConstant(biasName, [bias.length], biases.values, biases.scales, new Int32Array(bias.length));
    const inputs = [this.dequantize(input), this.dequantizeConstant(weightName), this.dequantizeConstant(biasName)];
    this.nodes.push(makeNode({ ...node, input: inputs, attribute }));
    this.quantizeOutput(node);
  }

  private add(node: NodeProto): void {
    for (const input of node.input) if (!this.quantized.has(input)) this.quantizeTensor(input, input, true);
    this.nodes.push(makeNode({ ...node, input: node.input.map((input) => this.dequantize(input)) }));
    this.quantizeOutput(node);
  }

  /** MaxPool keeps its input's scale and zero point: ORT then pools the uint8 values directly. */
  private maxPool(node: NodeProto): void {
    const input = this.quantized.get(node.input[0]!);
    if (!input) throw new ModelError(`MaxPool ${node.name} follows no quantized tensor; regenerate the fp32 graph`);
    const output = node.output[0]!;
    this.nodes.push(makeNode({ ...node, input: [this.dequantize(node.input[0]!)] }));
    const quantized = { ...input, name: `${output}_q` };
    this.nodes.push(quantizeNode(output, quantized));
    this.quantized.set(output, quantized);
    this.folded.add(output);
  }

  /** Quantizes a Conv's or Add's output, or its ReLU's output when the ReLU is its only consumer. */
  private quantizeOutput(node: NodeProto): void {
    const relu = foldedRelu(node, this.consumers);
    this.quantizeTensor(node.output[0]!, relu ? relu.output[0]! : node.output[0]!, !relu);
  }

  /** Q(`from`) with the calibrated range of `tensor`, registered as the uint8 form of `tensor`. */
  private quantizeTensor(from: string, tensor: string, signed: boolean): void {
    const range = this.ranges[tensor];
    const low = signed ? Math.min(0, range?.min ?? NaN) : 0;
    const high = Math.max(0, range?.max ?? NaN);
    if (!(high - low > 0)) {
      throw new ModelError(
        `no usable calibrated range for tensor ${tensor} (got ${JSON.stringify(range)}); calibrate with the quantization points of this graph`,
      );
    }
    const scaleValue = Math.fround((high - low) / UINT8_MAX);
    this.register(from, tensor, scaleValue, Math.round(-low / scaleValue));
  }

  /** The image, padded for `conv`, plus the means, quantized exactly: scale 1, zero point 0. */
  private quantizePixels(input: string, conv: NodeProto): void {
    const pads = (conv.attribute.find((entry) => entry.name === 'pads')?.ints ?? [0, 0, 0, 0]).map(Number);
    const [top = 0, left = 0, bottom = 0, right = 0] = pads;
    const padded = `${input}_padded`;
    const padding = this.addTensor(
      `${padded}_pads`,
      [8],
      BigInt64Array.from([0, 0, top, left, 0, 0, bottom, right], BigInt),
    );
    this.nodes.push(makeNode({ name: padded, opType: 'Pad', input: [input, padding], output: [padded] }));
    const pixels = `${input}_pixels`;
    const mean = this.addTensor(`${pixels}_mean`, [1, this.inputMean.length, 1, 1], Float32Array.from(this.inputMean));
    this.nodes.push(makeNode({ name: pixels, opType: 'Add', input: [padded, mean], output: [pixels] }));
    this.register(pixels, input, 1, 0);
  }

  private register(from: string, tensor: string, scaleValue: number, zeroPoint: number): void {
    const scale = this.addTensor(`${tensor}_scale`, [], Float32Array.of(scaleValue));
    const zero = this.addTensor(`${tensor}_zero_point`, [], Uint8Array.of(zeroPoint));
    const quantized = { name: `${tensor}_q`, scale, zeroPoint: zero, scaleValue };
    this.nodes.push(quantizeNode(from, quantized));
    this.quantized.set(tensor, quantized);
    this.folded.add(tensor);
  }

  /** A DequantizeLinear of its own for one consumer of `tensor`; returns the float tensor's name. */
  private dequantize(tensor: string): string {
    const quantized = this.quantized.get(tensor);
    if (!quantized) throw new ModelError(`tensor ${tensor} was never quantized; the graph is not a ResNet`);
    this.dequantizeCount += 1;
    const output = `${tensor}_dq${this.dequantizeCount}`;
    this.nodes.push(dequantizeNode(output, [quantized.name, quantized.scale, quantized.zeroPoint]));
    return output;
  }

  /** A per-channel constant (weight or bias) and its scales and zero points along dimension 0. */
  private addConstant(
    name: string,
    shape: readonly number[],
    values: Int8Array | Int32Array,
    scales: Float32Array,
    zeroPoints: Int8Array | Int32Array,
  ): void {
    this.addTensor(`${name}_quantized`, shape, values);
    this.addTensor(`${name}_scale`, [scales.length], scales);
    this.addTensor(`${name}_zero_point`, [scales.length], zeroPoints);
  }

  private dequantizeConstant(name: string): string {
    const output = `${name}_dq`;
    const axis = onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 });
    this.nodes.push(dequantizeNode(output, [`${name}_quantized`, `${name}_scale`, `${name}_zero_point`], [axis]));
    return output;
  }

  private takeFloat(name: string) {
    const tensor = this.weights.get(name);
    if (!tensor) throw new ModelError(`the fp32 graph has no initializer ${name}; regenerate it`);
    this.consumedWeights.add(name);
    return readFloatTensor(tensor);
  }

  private addTensor(name: string, dims: readonly number[], values: TypedValues): string {
    this.added.push(tensorProto(name, dims, values));
    return name;
  }
}

function quantizeNode(floatTensor: string, quantized: Quantized): NodeProto {
  return makeNode({
    name: quantized.name,
    opType: 'QuantizeLinear',
    input: [floatTensor, quantized.scale, quantized.zeroPoint],
    output: [quantized.name],
  });
}

function dequantizeNode(output: string, inputs: string[], attribute: OnnxSchema.IAttributeProto[] = []): NodeProto {
  return makeNode({ name: output, opType: 'DequantizeLinear', input: inputs, output: [output], attribute });
}

function makeNode(fields: OnnxSchema.INodeProto & { input: string[]; output: string[] }): NodeProto {
  return onnx.NodeProto.create({ attribute: [], ...fields }) as NodeProto;
}

/** The Relu that is the only consumer of a Conv's or Add's output, if there is one. */
function foldedRelu(node: NodeProto, consumers: Map<string, NodeProto[]>): NodeProto | undefined {
  const next = consumers.get(node.output[0]!) ?? [];
  return next.length === 1 && next[0]!.opType === 'Relu' ? next[0] : undefined;
}

function consumersOf(nodes: readonly NodeProto[]): Map<string, NodeProto[]> {
  const consumers = new Map<string, NodeProto[]>();
  for (const node of nodes) {
    for (const input of node.input) consumers.set(input, [...(consumers.get(input) ?? []), node]);
  }
  return consumers;
}

function decodeGraph(bytes: Uint8Array): DecodedGraph {
  const graph = onnx.ModelProto.decode(bytes).graph as DecodedGraph | null | undefined;
  if (!graph) throw new ModelError('the fp32 ONNX model has no graph; regenerate it');
  return graph;
}
