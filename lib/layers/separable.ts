// SeparableConv2d: a depthwise convolution followed by a pointwise (1×1) one, each with its own
// activation, as in MobileNet's depthwise separable blocks. It is a Sequential of the two layers, so
// its async calls pass the intermediate privately from one to the other.
import { checkOptionNames, readInteger, readOptionsObject, type Activation } from '../validate';
import type { Tensor, TensorLike } from '../tensor';
import { Conv1x1 } from './conv1x1';
import { DepthwiseConv2d } from './depthwise';
import { forwardAsyncWith, type Layer, type Privacy } from './layer';
import { chainSteps, type ChainBuilder } from './chain';
import { Lifetime } from './lifetime';
import { Sequential } from './sequential';

export interface SeparableConv2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number | readonly [number, number];
  stride?: number | readonly [number, number];
  padding?: number | readonly [number, number];
  dilation?: number | readonly [number, number];
  /** [inChannels, 1, kH, kW] */
  depthwiseWeight: TensorLike;
  depthwiseBias?: Float32Array | TensorLike | null;
  /** After the depthwise convolution (MobileNet: 'relu6'); default 'none'. */
  depthwiseActivation?: Activation;
  /** [outChannels, inChannels] or [outChannels, inChannels, 1, 1] */
  pointwiseWeight: TensorLike;
  pointwiseBias?: Float32Array | TensorLike | null;
  /** After the pointwise convolution; default 'none'. */
  activation?: Activation;
  negativeSlope?: number;
}

const OPTION_NAMES = [
  'inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'dilation', 'depthwiseWeight',
  'depthwiseBias', 'depthwiseActivation', 'pointwiseWeight', 'pointwiseBias', 'activation', 'negativeSlope',
];

export class SeparableConv2d implements Layer {
  readonly kind = 'SeparableConv2d';
  readonly depthwise: DepthwiseConv2d;
  readonly pointwise: Conv1x1;
  readonly #both: Sequential;
  readonly #lifetime = new Lifetime('SeparableConv2d');

  constructor(options: SeparableConv2dOptions) {
    const opts = readOptionsObject(options, 'SeparableConv2d options') as Partial<SeparableConv2dOptions>;
    checkOptionNames(opts, OPTION_NAMES, 'SeparableConv2d options');
    const inChannels = readInteger(opts.inChannels, 'SeparableConv2d options.inChannels', 1);
    const outChannels = readInteger(opts.outChannels, 'SeparableConv2d options.outChannels', 0);
    this.depthwise = new DepthwiseConv2d({
      channels: inChannels,
      kernelSize: opts.kernelSize as SeparableConv2dOptions['kernelSize'],
      stride: opts.stride,
      padding: opts.padding,
      dilation: opts.dilation,
      weight: opts.depthwiseWeight as TensorLike,
      bias: opts.depthwiseBias,
      activation: opts.depthwiseActivation,
      negativeSlope: opts.negativeSlope,
    });
    this.pointwise = new Conv1x1({
      inChannels,
      outChannels,
      weight: opts.pointwiseWeight as TensorLike,
      bias: opts.pointwiseBias,
      activation: opts.activation,
      negativeSlope: opts.negativeSlope,
    });
    this.#both = new Sequential([this.depthwise, this.pointwise]);
  }

  outputShape(inputShape: readonly number[]): number[] {
    return this.#both.outputShape(inputShape);
  }

  forward(input: TensorLike, out?: TensorLike | null): Tensor {
    this.#lifetime.checkOpen();
    return this.#both.forward(input, out);
  }

  forwardAsync(input: TensorLike, out?: TensorLike | null): Promise<Tensor> {
    return this.#lifetime.track(async () => {
      this.#lifetime.checkOpen();
      return this.#both.forwardAsync(input, out);
    });
  }

  [forwardAsyncWith](input: TensorLike, out: TensorLike | null, privacy: Privacy): Promise<Tensor> {
    return this.#lifetime.track(async () => {
      this.#lifetime.checkOpen();
      return this.#both[forwardAsyncWith](input, out, privacy);
    });
  }

  [chainSteps](builder: ChainBuilder, inputShape: readonly number[], input: number): number | null {
    this.#lifetime.checkOpen();
    builder.lifetimes.push(this.#lifetime);
    return this.#both[chainSteps](builder, inputShape, input);
  }

  /**
   * Refuses new calls (ERR_CLOSED), then releases both convolutions' native weights once the calls
   * in flight have settled; see Conv1x1.close().
   */
  close(): Promise<void> {
    return this.#lifetime.closeThen(() => this.#both.close());
  }

  flops(inputShape: readonly number[]): number {
    return this.#both.flops(inputShape);
  }
}
