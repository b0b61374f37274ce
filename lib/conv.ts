// The functional op: torch.nn.functional.conv2d with a 1×1 kernel.
import { callAsync, callSync, checkQueueRoom } from './async-call';
import { native, type NativeConvParams } from './binding';
import {
  checkGroups,
  CONV_OPTION_NAMES,
  type ConvOptions,
  nativeLayerParams,
  readBias,
  readConvSpec,
  readInput,
  readOut,
  readWeight,
} from './conv-spec';
import { allocateFloats, elementsOf, Tensor, type TensorLike } from './tensor';
import { checkOptionNames, readOptionsObject } from './validate';

export interface Conv1x1Options extends ConvOptions {
  /** Where to write the result; must have exactly the output shape. */
  out?: TensorLike | null;
}

const OPTION_NAMES = [...CONV_OPTION_NAMES, 'out'];

interface PreparedCall {
  params: NativeConvParams;
  input: Float32Array;
  weight: Float32Array;
  bias: Float32Array | null;
  out: Float32Array | null;
  outputShape: number[];
}

function prepareCall(input: unknown, weight: unknown, options: unknown): PreparedCall {
  const opts = readOptionsObject(options, 'options');
  checkOptionNames(opts, OPTION_NAMES, 'options');
  const spec = readConvSpec(opts, 'options');
  const w = readWeight(weight, 'weight');
  const inChannels = w.inChannelsPerGroup * spec.groups;
  checkGroups(spec, inChannels, w.outChannels, 'options');
  const x = readInput(input, spec, inChannels, w.outChannels, 'input',
    `weight [${w.outChannels}, ${w.inChannelsPerGroup}] × groups ${spec.groups} expects`);
  const bias = readBias(opts.bias, w.outChannels, 'options.bias');
  const out = readOut(opts.out, x.outputShape, 'options.out', { input: x.data, weight: w.data, bias });
  return {
    params: { ...nativeLayerParams(spec, inChannels, w.outChannels), ...x.dims },
    input: x.data,
    weight: w.data,
    bias,
    out,
    outputShape: x.outputShape,
  };
}

/** Runs synchronously on the calling thread (use conv1x1Async to keep the event loop free). */
export function conv1x1(input: TensorLike, weight: TensorLike, options?: Conv1x1Options): Tensor {
  return callSync(() => {
    const call = prepareCall(input, weight, options);
    const out = call.out ?? allocateFloats(elementsOf(call.outputShape));
    native.conv(call.params, call.input, call.weight, call.bias, out);
    return Tensor.fromTrusted(out, call.outputShape);
  });
}

/**
 * Runs on a worker thread; the event loop stays free. The input, weight and bias are snapshotted when
 * the call is made, so changing or transferring them afterwards does not affect the result.
 */
export function conv1x1Async(input: TensorLike, weight: TensorLike, options?: Conv1x1Options): Promise<Tensor> {
  return callAsync(async () => {
    const call = prepareCall(input, weight, options);
    const outputCount = elementsOf(call.outputShape);
    checkQueueRoom(call.input.length + call.weight.length + outputCount);
    const out = call.out ?? allocateFloats(outputCount);
    await native.convAsync(call.params, call.input, call.weight, call.bias, out, call.out === null);
    return Tensor.fromTrusted(out, call.outputShape);
  });
}
