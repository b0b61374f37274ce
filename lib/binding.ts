// The native module behind a typed interface, so that nothing else in lib/ touches `any`.
// node-gyp-build loads build/Release when there is a local build, else the matching prebuild.
import * as path from 'node:path';

import nodeGypBuild from 'node-gyp-build';

import type { BackendInfo } from './backend';
import type { ChainStep } from './layers/chain';
import { Conv1x1Error, ErrorCodes } from './errors';

export type NativeActivation =
  | 'none'
  | 'relu'
  | 'relu6'
  | 'leaky_relu'
  | 'sigmoid'
  | 'tanh'
  | 'silu'
  | 'gelu'
  | 'hardswish';

/** Everything about a convolution except the input's batch and spatial sizes. */
export interface NativeLayerParams {
  inChannels: number;
  outChannels: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  groups: number;
  layout: 'nchw' | 'nhwc';
  activation: NativeActivation;
  negativeSlope: number;
}

export interface NativeInputDims {
  batch: number;
  height: number;
  width: number;
}

export type NativeConvParams = NativeLayerParams & NativeInputDims;

/**
 * Outputs are always passed in (the facade allocates new ones, where a failed allocation is a
 * catchable RangeError). `outIsPrivate` tells an async call that nobody else can see `out` until the
 * promise settles, so it may be written in place; otherwise the result is copied in on completion.
 * `inputIsPrivate` likewise lets the worker read the input in place instead of a snapshot.
 */
export interface NativePreparedOp {
  /** Releases the weights; in-flight calls keep them until they end; later calls throw ERR_CLOSED. */
  close(): void;
  run(batch: number, height: number, width: number, input: Float32Array, out: Float32Array): Float32Array;
  runAsync(
    batch: number,
    height: number,
    width: number,
    input: Float32Array,
    out: Float32Array,
    outIsPrivate: boolean,
    inputIsPrivate?: boolean,
  ): Promise<Float32Array>;
}

/** A depthwise convolution (groups = channels, NCHW) except the input's batch and spatial sizes. */
export interface NativeDepthwiseParams {
  channels: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  activation: NativeActivation;
  negativeSlope: number;
}

/** A prepared 1×1 convolution: its weights copied and laid out once, run on any batch and size. */
export interface NativePreparedConv extends NativePreparedOp {
  /** What a call with an input of these sizes runs on: 'openblas', 'builtin avx512f (pixel tiles)', … */
  engine(batch: number, height: number, width: number): string;
}
/** A prepared depthwise convolution; dims are of an NCHW input. */
export type NativePreparedDepthwise = NativePreparedOp;

/** A Sequential's layers for one input shape, run as one async job (see layers/chain.ts). */
export interface NativePreparedChain {
  runAsync(input: Float32Array, out: Float32Array, outIsPrivate: boolean, inputIsPrivate: boolean): Promise<Float32Array>;
  /** Floats of the intermediates' arena that each call takes. */
  arenaElements(): number;
  /** Releases the chain's share of its layers' weights; later calls throw ERR_CLOSED. */
  close(): void;
}

export interface NativeBinding {
  conv(
    params: NativeConvParams,
    input: Float32Array,
    weight: Float32Array,
    bias: Float32Array | null,
    out: Float32Array,
  ): Float32Array;
  convAsync(
    params: NativeConvParams,
    input: Float32Array,
    weight: Float32Array,
    bias: Float32Array | null,
    out: Float32Array,
    outIsPrivate: boolean,
  ): Promise<Float32Array>;
  PreparedConv: new (
    params: NativeLayerParams,
    weight: Float32Array,
    bias: Float32Array | null,
  ) => NativePreparedConv;
  /** weight: [channels][kernelH][kernelW]; bias: [channels] or null. Both are copied. */
  PreparedDepthwise: new (
    params: NativeDepthwiseParams,
    weight: Float32Array,
    bias: Float32Array | null,
  ) => NativePreparedDepthwise;
  PreparedChain: new (steps: readonly ChainStep[], bufferElements: readonly number[]) => NativePreparedChain;
  backendInfo(): BackendInfo;
  setThreads(threads: number): void;
  selectBackend(kind: 'auto' | 'blas' | 'builtin'): boolean;
  /** Throws ERR_QUEUE_FULL when an async call of this many bytes would be refused now. */
  checkQueueRoom(bytes: number): void;
  setQueueLimits(calls: number, bytes: number): void;
  computeStats(reset?: boolean): { peakConcurrentCalls: number; slots: number; threadsPerCall: number };
}

function load(): NativeBinding {
  const root = path.join(__dirname, '..');
  try {
    return nodeGypBuild(root) as NativeBinding;
  } catch (cause) {
    throw new Conv1x1Error(
      `conv1x1: the native addon could not be loaded from ${root} (${(cause as Error).message}). ` +
        'Run `npm rebuild conv1x1` with a C++ toolchain, or install on a platform with a prebuilt binary.',
      ErrorCodes.NATIVE_LOAD,
      { cause },
    );
  }
}

export const native: NativeBinding = load();
