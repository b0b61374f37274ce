// What the functional op and the layer share: reading the convolution's options, weight, bias,
// input and `out` into the plain parameters the native side executes.
import type { NativeInputDims, NativeLayerParams } from './binding';
import { ErrorCodes, rangeError, shapeError, typeError, Conv1x1Error, describe } from './errors';
import { MAX_ELEMENTS, readTensor, sharesMemory, type ReadTensorOptions, type TensorLike } from './tensor';
import {
  ACTIVATIONS,
  LAYOUTS,
  readChoice,
  readFiniteNumber,
  readInteger,
  readPair,
  type Activation,
  type Layout,
} from './validate';

/** The convolution options that the functional op and the layer share. */
export interface ConvOptions {
  /** Float32Array or tensor of shape [Cout]. */
  bias?: Float32Array | TensorLike | null;
  /** A number or [h, w]; default 1. */
  stride?: number | readonly [number, number];
  /** Zero padding, a number or [h, w]; default 0. Border outputs are act(bias). */
  padding?: number | readonly [number, number];
  /** Default 1; must divide Cin and Cout. */
  groups?: number;
  /** Default 'none'. */
  activation?: Activation;
  /** Slope of leaky_relu for x < 0; default 0.01. */
  negativeSlope?: number;
  /** 'nchw' (default): input [N, C, H, W]; 'nhwc': input [N, H, W, C]. */
  layout?: Layout;
}

export const CONV_OPTION_NAMES: readonly string[] = [
  'bias',
  'stride',
  'padding',
  'groups',
  'activation',
  'negativeSlope',
  'layout',
];

export interface ConvSpec {
  stride: [number, number];
  padding: [number, number];
  groups: number;
  activation: Activation;
  negativeSlope: number;
  layout: Layout;
}

export function readConvSpec(options: Record<string, unknown>, name: string): ConvSpec {
  return {
    stride: readPair(options.stride, `${name}.stride`, 1, 1),
    padding: readPair(options.padding, `${name}.padding`, 0, 0),
    groups: readInteger(options.groups, `${name}.groups`, 1, 1),
    activation: readChoice(options.activation, `${name}.activation`, ACTIVATIONS, 'none'),
    negativeSlope: readFiniteNumber(options.negativeSlope, `${name}.negativeSlope`, 0.01),
    layout: readChoice(options.layout, `${name}.layout`, LAYOUTS, 'nchw'),
  };
}

export interface WeightInfo {
  data: Float32Array;
  outChannels: number;
  inChannelsPerGroup: number;
}

/** [Cout, Cin/groups] or PyTorch's [Cout, Cin/groups, 1, 1]. */
export function readWeight(value: unknown, name: string): WeightInfo {
  const weight = readTensor(value, name, { ranks: [2, 4], layoutHint: '([Cout, Cin/groups] or [Cout, Cin/groups, 1, 1])' });
  const [outChannels, inChannelsPerGroup, kh, kw] = weight.shape;
  if (weight.shape.length === 4 && (kh !== 1 || kw !== 1)) {
    throw shapeError(`${name}.shape is [${weight.shape.join(', ')}]: the kernel is ${kh}×${kw} but must be 1×1`);
  }
  return { data: weight.data, outChannels, inChannelsPerGroup };
}

export function checkGroups(spec: ConvSpec, inChannels: number, outChannels: number, name: string): void {
  if (inChannels % spec.groups !== 0 || outChannels % spec.groups !== 0) {
    throw shapeError(
      `${name}.groups is ${spec.groups} but must divide both the input channels (${inChannels}) ` +
        `and the output channels (${outChannels})`,
    );
  }
}

/** A Float32Array or a tensor of shape [Cout]; null or undefined for none. */
export function readBias(value: unknown, outChannels: number, name: string): Float32Array | null {
  if (value === undefined || value === null) return null;
  let data: Float32Array;
  if (value instanceof Float32Array) {
    data = readTensor({ data: value, shape: [value.length] }, name).data;
  } else if (ArrayBuffer.isView(value) || typeof value !== 'object') {
    throw typeError(
      ErrorCodes.INVALID_ARG_TYPE,
      `${name} must be a Float32Array or a tensor of shape [${outChannels}] but received ${describe(value)}`,
    );
  } else {
    data = readTensor(value, name, { ranks: [1], layoutHint: '([Cout])' }).data;
  }
  if (data.length !== outChannels) {
    throw shapeError(`${name} has ${data.length} elements but the convolution has ${outChannels} output channels`);
  }
  return data;
}

export interface InputInfo {
  data: Float32Array;
  dims: NativeInputDims;
  outputShape: number[];
}

export function outputExtent(extent: number, pad: number, stride: number): number {
  const padded = extent + 2 * pad;
  return padded === 0 ? 0 : Math.floor((padded - 1) / stride) + 1;
}

/** Batch and spatial sizes of an input shape and the output shape, with the channels checked. */
export function planInput(
  shape: readonly number[],
  spec: ConvSpec,
  inChannels: number,
  outChannels: number,
  name: string,
  expectation: string,
): { dims: NativeInputDims; outputShape: number[] } {
  const nchw = spec.layout === 'nchw';
  const [batch, d1, d2, d3] = shape;
  const [channels, height, width] = nchw ? [d1, d2, d3] : [d3, d1, d2];
  const channelAxis = nchw ? 1 : 3;
  if (channels !== inChannels) {
    throw shapeError(`${name}.shape[${channelAxis}] is ${channels} but ${expectation} ${inChannels} input channels`);
  }
  const outHeight = outputExtent(height, spec.padding[0], spec.stride[0]);
  const outWidth = outputExtent(width, spec.padding[1], spec.stride[1]);
  const outputShape = nchw ? [batch, outChannels, outHeight, outWidth] : [batch, outHeight, outWidth, outChannels];
  const outputElements = batch * outChannels * outHeight * outWidth;
  if (outputElements > MAX_ELEMENTS) {
    throw rangeError(
      ErrorCodes.TOO_LARGE,
      `the output [${outputShape.join(', ')}] would have ${outputElements} elements; ` +
        `a Float32Array holds at most ${MAX_ELEMENTS}`,
    );
  }
  return { dims: { batch, height, width }, outputShape };
}

export function inputLayoutHint(spec: ConvSpec): string {
  return spec.layout === 'nchw' ? '[N, C, H, W]' : '[N, H, W, C]';
}

const NCHW_INPUT: ReadTensorOptions = { ranks: [4], layoutHint: '[N, C, H, W]' };
const NHWC_INPUT: ReadTensorOptions = { ranks: [4], layoutHint: '[N, H, W, C]' };
const OUT_TENSOR: ReadTensorOptions = { rejectVolatile: true };

/** The input tensor, its channel count checked against what the weight expects. */
export function readInput(
  value: unknown,
  spec: ConvSpec,
  inChannels: number,
  outChannels: number,
  name: string,
  expectation: string,
): InputInfo {
  const input = readTensor(value, name, spec.layout === 'nchw' ? NCHW_INPUT : NHWC_INPUT);
  const { dims, outputShape } = planInput(input.shape, spec, inChannels, outChannels, name, expectation);
  return { data: input.data, dims, outputShape };
}

function checkDisjoint(out: Float32Array, operand: Float32Array | null, operandName: string, name: string): void {
  if (sharesMemory(out, operand)) {
    throw new Conv1x1Error(
      `${name}.data shares memory with the ${operandName}; the output must be a separate buffer`,
      ErrorCodes.OVERLAP,
    );
  }
}

/** The caller's `out`: exactly the output shape, a plain buffer, and no memory shared with the operands. */
export function readOut(
  value: unknown,
  outputShape: readonly number[],
  name: string,
  operands: { input: Float32Array; weight: Float32Array | null; bias: Float32Array | null },
): Float32Array | null {
  if (value === undefined || value === null) return null;
  const out = readTensor(value, name, OUT_TENSOR);
  const shape = out.shape;
  let sameShape = shape.length === outputShape.length;
  for (let i = 0; sameShape && i < shape.length; i++) sameShape = shape[i] === outputShape[i];
  if (!sameShape) {
    throw shapeError(`${name}.shape is [${shape.join(', ')}] but the output shape is [${outputShape.join(', ')}]`);
  }
  checkDisjoint(out.data, operands.input, 'input', name);
  checkDisjoint(out.data, operands.weight, 'weight', name);
  checkDisjoint(out.data, operands.bias, 'bias', name);
  return out.data;
}

export function nativeLayerParams(spec: ConvSpec, inChannels: number, outChannels: number): NativeLayerParams {
  return {
    inChannels,
    outChannels,
    strideH: spec.stride[0],
    strideW: spec.stride[1],
    padH: spec.padding[0],
    padW: spec.padding[1],
    groups: spec.groups,
    layout: spec.layout,
    activation: spec.activation,
    negativeSlope: spec.negativeSlope,
  };
}

export type { TensorLike };
