// The DepthwiseConv2d layer: torch.nn.Conv2d(C, C, kernelSize, stride, padding, dilation, groups=C)
// with bias and activation fused, on NCHW input only ([N, C, H, W]; there is no NHWC form). It
// validates and copies its weights into native memory once; forward() only checks the input and runs.
import { callAsync, checkQueueRoom, callSync } from '../async-call';
import { native, type NativeDepthwiseParams, type NativeInputDims, type NativePreparedDepthwise } from '../binding';
import { readBias, readOut } from '../conv-spec';
import { describe, ErrorCodes, rangeError, shapeError, typeError } from '../errors';
import { readBatchNormWeights, type FromWeightsBatchNorm, type TensorSource } from '../model/tensor-source';
import { allocateFloats, elementCount, elementsOf, MAX_ELEMENTS, readShape, readTensor, Tensor, type TensorLike } from '../tensor';
import {
  ACTIVATIONS,
  checkOptionNames,
  readChoice,
  readFiniteNumber,
  readInteger,
  readOptionsObject,
  readPair,
  type Activation,
} from '../validate';
import { fuseBatchNorm } from './batchnorm';
import { chainSteps, type ChainBuilder } from './chain';
import { Lifetime } from './lifetime';
import { foldableWeights, forwardAsyncWith, type FoldableWeights, type Privacy, type Layer } from './layer';

export interface DepthwiseConv2dOptions {
  /** Input and output channels (groups = channels), at least 1. */
  channels: number;
  /** A number or [kH, kW]. */
  kernelSize: number | readonly [number, number];
  /** A number or [h, w]; default 1. */
  stride?: number | readonly [number, number];
  /** Zero padding, a number or [h, w]; default 0. */
  padding?: number | readonly [number, number];
  /** Spacing between kernel taps, a number or [h, w]; default 1. */
  dilation?: number | readonly [number, number];
  /** [channels, 1, kH, kW], as torch.nn.Conv2d stores it. */
  weight: TensorLike;
  /** Float32Array or tensor of shape [channels]. */
  bias?: Float32Array | TensorLike | null;
  /** Default 'none'. */
  activation?: Activation;
  /** Slope of leaky_relu for x < 0; default 0.01. */
  negativeSlope?: number;
}

/** fromWeights: the layer's options without what the weights give (kernelSize defaults to the weight's). */
export interface DepthwiseConv2dFromWeightsOptions
  extends Omit<DepthwiseConv2dOptions, 'channels' | 'weight' | 'bias' | 'kernelSize'>,
    FromWeightsBatchNorm {
  kernelSize?: number | readonly [number, number];
}

const NAME = 'DepthwiseConv2d options';
const OPTION_NAMES = [
  'channels',
  'kernelSize',
  'stride',
  'padding',
  'dilation',
  'weight',
  'bias',
  'activation',
  'negativeSlope',
];
const INPUT_HINT = '[N, C, H, W] (DepthwiseConv2d takes NCHW input only)';

type Pair = readonly [number, number];

function frozenPair(pair: [number, number]): Pair {
  return Object.freeze(pair) as Pair;
}

/** PyTorch's floor((in + 2·pad − dilation·(kernel − 1) − 1) / stride) + 1, or null where it raises. */
function outputExtent(extent: number, kernel: number, stride: number, pad: number, dilation: number): number | null {
  const span = extent + 2 * pad - dilation * (kernel - 1) - 1;
  return span < 0 ? null : Math.floor(span / stride) + 1;
}

export class DepthwiseConv2d implements Layer {
  readonly kind = 'DepthwiseConv2d';
  readonly channels: number;
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly activation: Activation;
  readonly negativeSlope: number;
  /** Always 'nchw'. */
  readonly layout = 'nchw' as const;
  readonly #lifetime = new Lifetime('DepthwiseConv2d');
  readonly #prepared: NativePreparedDepthwise;
  // Copies kept for batch-norm folding (fuseBatchNorm builds a new layer from them).
  readonly #weight: Float32Array;
  readonly #bias: Float32Array | null;

  constructor(options: DepthwiseConv2dOptions) {
    const opts = readOptionsObject(options, NAME);
    checkOptionNames(opts, OPTION_NAMES, NAME);
    const channels = readInteger(opts.channels, `${NAME}.channels`, 1);
    if (opts.kernelSize === undefined) {
      throw typeError(
        ErrorCodes.INVALID_ARG_TYPE,
        `${NAME}.kernelSize must be a number or a [kH, kW] pair but received ${describe(opts.kernelSize)}`,
      );
    }
    const kernelSize = readPair(opts.kernelSize, `${NAME}.kernelSize`, 1, 1);
    const stride = readPair(opts.stride, `${NAME}.stride`, 1, 1);
    const padding = readPair(opts.padding, `${NAME}.padding`, 0, 0);
    const dilation = readPair(opts.dilation, `${NAME}.dilation`, 1, 1);
    const activation = readChoice(opts.activation, `${NAME}.activation`, ACTIVATIONS, 'none');
    const negativeSlope = readFiniteNumber(opts.negativeSlope, `${NAME}.negativeSlope`, 0.01);
    const [kh, kw] = kernelSize;
    const weight = readTensor(opts.weight, `${NAME}.weight`, { ranks: [4], layoutHint: '([channels, 1, kH, kW])' });
    const expected = [channels, 1, kh, kw];
    if (weight.shape.some((dim, i) => dim !== expected[i])) {
      throw shapeError(
        `${NAME}.weight has shape [${weight.shape.join(', ')}] but channels ${channels} and kernelSize ` +
          `${kh}×${kw} need [${expected.join(', ')}]`,
      );
    }
    const bias = readBias(opts.bias, channels, `${NAME}.bias`);
    const params: NativeDepthwiseParams = {
      channels,
      kernelH: kh,
      kernelW: kw,
      strideH: stride[0],
      strideW: stride[1],
      padH: padding[0],
      padW: padding[1],
      dilationH: dilation[0],
      dilationW: dilation[1],
      activation,
      negativeSlope,
    };
    this.#prepared = callSync(() => new native.PreparedDepthwise(params, weight.data, bias));
    this.#weight = new Float32Array(weight.data);
    this.#bias = bias ? new Float32Array(bias) : null;
    this.channels = channels;
    this.kernelSize = frozenPair(kernelSize);
    this.stride = frozenPair(stride);
    this.padding = frozenPair(padding);
    this.dilation = frozenPair(dilation);
    this.activation = activation;
    this.negativeSlope = negativeSlope;
  }

  /**
   * The layer stored under a PyTorch prefix: `<prefix>.weight` ([C, 1, kH, kW]), `<prefix>.bias`
   * when present, and a following batch norm folded in when `batchNorm` names one.
   */
  static fromWeights(store: TensorSource, prefix: string, options: DepthwiseConv2dFromWeightsOptions = {}): DepthwiseConv2d {
    const { batchNorm, eps, ...layerOptions } = options;
    const weight = store.tensor(`${prefix}.weight`);
    const [channels = 0, , kh = 0, kw = 0] = weight.shape;
    const layer = new DepthwiseConv2d({
      ...layerOptions,
      kernelSize: layerOptions.kernelSize ?? [kh, kw],
      channels,
      weight,
      bias: store.has(`${prefix}.bias`) ? store.tensor(`${prefix}.bias`, [channels]) : null,
    });
    return batchNorm ? fuseBatchNorm(layer, readBatchNormWeights(store, batchNorm, channels, eps)) : layer;
  }

  /** Batch and spatial sizes of an NCHW input shape, and the output shape, or a named error. */
  #plan(shape: readonly number[], name: string): { dims: NativeInputDims; outputShape: number[] } {
    const [batch, channels, height, width] = shape;
    if (channels !== this.channels) {
      throw shapeError(
        `${name}.shape[1] is ${channels} but the DepthwiseConv2d layer expects ${this.channels} channels ` +
          `(input ${INPUT_HINT})`,
      );
    }
    const extents = (['height', 'width'] as const).map((dim, axis) => {
      const extent = axis === 0 ? height : width;
      const out = outputExtent(extent, this.kernelSize[axis], this.stride[axis], this.padding[axis], this.dilation[axis]);
      if (out === null) {
        const dilated = this.dilation[axis] * (this.kernelSize[axis] - 1) + 1;
        throw shapeError(
          `DepthwiseConv2d: ${name} ${dim} ${extent} + 2 × padding ${this.padding[axis]} is smaller than the ` +
            `dilated kernel ${dim} ${dilated} (kernelSize ${this.kernelSize[axis]}, dilation ${this.dilation[axis]})`,
        );
      }
      return out;
    });
    const outputShape = [batch, this.channels, extents[0], extents[1]];
    const outputElements = batch * this.channels * extents[0] * extents[1];
    if (outputElements > MAX_ELEMENTS) {
      throw rangeError(
        ErrorCodes.TOO_LARGE,
        `the output [${outputShape.join(', ')}] would have ${outputElements} elements; ` +
          `a Float32Array holds at most ${MAX_ELEMENTS}`,
      );
    }
    return { dims: { batch, height, width }, outputShape };
  }

  #prepare(input: unknown, out: unknown) {
    const x = readTensor(input, 'input', { ranks: [4], layoutHint: INPUT_HINT });
    const plan = this.#plan(x.shape, 'input');
    const outData = readOut(out, plan.outputShape, 'out', { input: x.data, weight: null, bias: null });
    return { data: x.data, ...plan, outData };
  }

  /** Shape of forward(input)'s result for an input of this shape. */
  outputShape(inputShape: readonly number[]): number[] {
    return callSync(() => {
      if (readShape(inputShape, 'inputShape').length !== 4) {
        throw shapeError(`inputShape must have 4 dimensions ${INPUT_HINT}`);
      }
      elementCount(inputShape, 'inputShape');
      return this.#plan(inputShape, 'inputShape').outputShape;
    });
  }

  /** Runs synchronously on the calling thread. */
  forward(input: TensorLike, out?: TensorLike | null): Tensor {
    return callSync(() => {
      this.#lifetime.checkOpen();
      const x = this.#prepare(input, out);
      const output = x.outData ?? allocateFloats(elementCount(x.outputShape, 'output shape'));
      this.#prepared.run(x.dims.batch, x.dims.height, x.dims.width, x.data, output);
      return Tensor.fromTrusted(output, x.outputShape);
    });
  }

  /** Runs on a worker thread; the input is snapshotted when the call is made. */
  forwardAsync(input: TensorLike, out?: TensorLike | null): Promise<Tensor> {
    return this.#runAsync(input, out, { input: false, out: false });
  }

  /** 2 · N · C · OH · OW · kH · kW. */
  flops(inputShape: readonly number[]): number {
    const [batch, channels, height, width] = this.outputShape(inputShape);
    return 2 * batch * channels * height * width * this.kernelSize[0] * this.kernelSize[1];
  }

  [forwardAsyncWith](input: TensorLike, out: TensorLike | null, privacy: Privacy): Promise<Tensor> {
    return this.#runAsync(input, out, privacy);
  }

  [chainSteps](builder: ChainBuilder, inputShape: readonly number[], input: number): number {
    this.#lifetime.checkOpen();
    const { dims, outputShape } = this.#plan(inputShape, 'input');
    const output = builder.buffer(elementsOf(outputShape));
    builder.steps.push({ op: 'depthwise', layer: this.#prepared, ...dims, input, output });
    builder.lifetimes.push(this.#lifetime);
    return output;
  }

  [foldableWeights](): FoldableWeights {
    return {
      channels: this.channels,
      weight: new Float32Array(this.#weight),
      bias: this.#bias ? new Float32Array(this.#bias) : null,
      rebuild: (weight, bias) =>
        new DepthwiseConv2d({
          channels: this.channels,
          kernelSize: this.kernelSize,
          stride: this.stride,
          padding: this.padding,
          dilation: this.dilation,
          weight: { data: weight, shape: [this.channels, 1, this.kernelSize[0], this.kernelSize[1]] },
          bias,
          activation: this.activation,
          negativeSlope: this.negativeSlope,
        }),
    };
  }

  #runAsync(input: TensorLike, out: TensorLike | null | undefined, privacy: Privacy): Promise<Tensor> {
    return this.#lifetime.track(() => callAsync(async () => {
      this.#lifetime.checkOpen();
      const x = this.#prepare(input, out);
      const outputCount = elementCount(x.outputShape, 'output shape');
      checkQueueRoom(x.data.length + outputCount);
      const output = x.outData ?? allocateFloats(outputCount);
      await this.#prepared.runAsync(x.dims.batch, x.dims.height, x.dims.width, x.data, output, privacy.out || x.outData === null, privacy.input);
      return Tensor.fromTrusted(output, x.outputShape);
    }));
  }

  /**
   * Releases the native weights. Later calls throw (forward) or reject (forwardAsync) with
   * Conv1x1Error ERR_CLOSED; calls already running finish normally, and the promise resolves when
   * they have. Closing twice is harmless.
   */
  close(): Promise<void> {
    return this.#lifetime.close(() => this.#prepared.close());
  }
}
