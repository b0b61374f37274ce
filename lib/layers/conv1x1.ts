// The Conv1x1 layer: validates and prepares its weights once (copied into native memory, laid out
// for the GEMM), then forward() only checks the input and runs.
import { callAsync, checkQueueRoom, callSync } from '../async-call';
import { native, type NativePreparedConv } from '../binding';
import {
  checkGroups,
  CONV_OPTION_NAMES,
  type ConvOptions,
  nativeLayerParams,
  readBias,
  readConvSpec,
  inputLayoutHint,
  planInput,
  readInput,
  readOut,
  readWeight,
  type ConvSpec,
} from '../conv-spec';
import { shapeError } from '../errors';
import { allocateFloats, elementCount, elementsOf, readShape, Tensor, type TensorLike } from '../tensor';
import { checkOptionNames, readInteger, readOptionsObject, type Activation, type Layout } from '../validate';
import { readBatchNormWeights, type FromWeightsBatchNorm, type TensorSource } from '../model/tensor-source';
import { fuseBatchNorm } from './batchnorm';
import { chainSteps, type ChainBuilder } from './chain';
import { Lifetime } from './lifetime';
import { foldableWeights, forwardAsyncWith, type FoldableWeights, type Privacy, type Layer } from './layer';

export interface Conv1x1FromWeightsOptions extends Omit<ConvOptions, 'bias'>, FromWeightsBatchNorm {}

export interface Conv1x1LayerOptions extends ConvOptions {
  inChannels: number;
  outChannels: number;
  /** [outChannels, inChannels/groups] or [outChannels, inChannels/groups, 1, 1]. */
  weight: TensorLike;
}

const LAYER_EXPECTS = 'the Conv1x1 layer expects';

function nhwcAsNchw([batch, height, width, channels]: number[]): number[] {
  return [batch, channels, height, width];
}

const OPTION_NAMES = ['inChannels', 'outChannels', 'weight', ...CONV_OPTION_NAMES];

export class Conv1x1 implements Layer {
  readonly kind = 'Conv1x1';
  readonly inChannels: number;
  readonly outChannels: number;
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly groups: number;
  readonly activation: Activation;
  readonly negativeSlope: number;
  readonly layout: Layout;
  readonly #spec: ConvSpec;
  readonly #lifetime = new Lifetime('Conv1x1');
  readonly #prepared: NativePreparedConv;
  // Copies kept for batch-norm folding (fuseBatchNorm builds a new layer from them).
  readonly #weight: Float32Array;
  readonly #bias: Float32Array | null;

  constructor(options: Conv1x1LayerOptions) {
    const opts = readOptionsObject(options, 'Conv1x1 options');
    checkOptionNames(opts, OPTION_NAMES, 'Conv1x1 options');
    const inChannels = readInteger(opts.inChannels, 'Conv1x1 options.inChannels', 0);
    const outChannels = readInteger(opts.outChannels, 'Conv1x1 options.outChannels', 0);
    const spec = readConvSpec(opts, 'Conv1x1 options');
    checkGroups(spec, inChannels, outChannels, 'Conv1x1 options');
    const weight = readWeight(opts.weight, 'Conv1x1 options.weight');
    const inPerGroup = inChannels / spec.groups;
    if (weight.outChannels !== outChannels || weight.inChannelsPerGroup !== inPerGroup) {
      throw shapeError(
        `Conv1x1 options.weight has shape [${weight.outChannels}, ${weight.inChannelsPerGroup}, …] but ` +
          `outChannels ${outChannels} and inChannels ${inChannels} / groups ${spec.groups} need ` +
          `[${outChannels}, ${inPerGroup}]`,
      );
    }
    const bias = readBias(opts.bias, outChannels, 'Conv1x1 options.bias');
    this.#prepared = callSync(
      () => new native.PreparedConv(nativeLayerParams(spec, inChannels, outChannels), weight.data, bias),
    );
    this.#spec = spec;
    this.#weight = new Float32Array(weight.data);
    this.#bias = bias ? new Float32Array(bias) : null;
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.stride = Object.freeze([...spec.stride]) as unknown as readonly [number, number];
    this.padding = Object.freeze([...spec.padding]) as unknown as readonly [number, number];
    this.groups = spec.groups;
    this.activation = spec.activation;
    this.negativeSlope = spec.negativeSlope;
    this.layout = spec.layout;
  }

  /**
   * The layer stored under a PyTorch prefix: `<prefix>.weight` ([Cout, Cin/g] or [Cout, Cin/g, 1, 1]),
   * `<prefix>.bias` when present, and a following batch norm folded in when `batchNorm` names one.
   */
  static fromWeights(store: TensorSource, prefix: string, options: Conv1x1FromWeightsOptions = {}): Conv1x1 {
    const { batchNorm, eps, ...convOptions } = options;
    const weight = store.tensor(`${prefix}.weight`);
    const outChannels = weight.shape[0] ?? 0;
    const groups = convOptions.groups ?? 1;
    const layer = new Conv1x1({
      ...convOptions,
      inChannels: (weight.shape[1] ?? 0) * groups,
      outChannels,
      weight,
      bias: store.has(`${prefix}.bias`) ? store.tensor(`${prefix}.bias`, [outChannels]) : null,
    });
    return batchNorm ? fuseBatchNorm(layer, readBatchNormWeights(store, batchNorm, outChannels, eps)) : layer;
  }

  #prepare(input: unknown, out: unknown) {
    const x = readInput(input, this.#spec, this.inChannels, this.outChannels, 'input', LAYER_EXPECTS);
    const outData = readOut(out, x.outputShape, 'out', { input: x.data, weight: null, bias: null });
    return { x, outData };
  }

  /** Shape of forward(input)'s result for an input of this shape. */
  outputShape(inputShape: readonly number[]): number[] {
    return callSync(() => {
      if (readShape(inputShape, 'inputShape').length !== 4) {
        throw shapeError(`inputShape must have 4 dimensions ${inputLayoutHint(this.#spec)}`);
      }
      elementCount(inputShape, 'inputShape');
      return planInput(inputShape, this.#spec, this.inChannels, this.outChannels, 'inputShape', LAYER_EXPECTS)
        .outputShape;
    });
  }

  /**
   * What a call on an input of this shape runs on: the BLAS library ('openblas', …) or the builtin
   * kernels with their instruction set and tile shape ('builtin avx512f (channel tiles)'). Follows
   * the per-shape choice, CONV1X1_BLAS and CONV1X1_ISA.
   */
  backend(inputShape: readonly number[]): string {
    return callSync(() => {
      this.#lifetime.checkOpen();
      if (readShape(inputShape, 'inputShape').length !== 4) {
        throw shapeError(`inputShape must have 4 dimensions ${inputLayoutHint(this.#spec)}`);
      }
      elementCount(inputShape, 'inputShape');
      const { dims } = planInput(inputShape, this.#spec, this.inChannels, this.outChannels, 'inputShape', LAYER_EXPECTS);
      return this.#prepared.engine(dims.batch, dims.height, dims.width);
    });
  }

  /** Runs synchronously on the calling thread. */
  forward(input: TensorLike, out?: TensorLike | null): Tensor {
    return callSync(() => {
      this.#lifetime.checkOpen();
      const { x, outData } = this.#prepare(input, out);
      const output = outData ?? allocateFloats(elementCount(x.outputShape, 'output shape'));
      this.#prepared.run(x.dims.batch, x.dims.height, x.dims.width, x.data, output);
      return Tensor.fromTrusted(output, x.outputShape);
    });
  }

  /** Runs on a worker thread; the input is snapshotted when the call is made. */
  forwardAsync(input: TensorLike, out?: TensorLike | null): Promise<Tensor> {
    return this.#runAsync(input, out, { input: false, out: false });
  }

  /** 2 · N · Cout · (Cin / groups) · OH · OW. */
  flops(inputShape: readonly number[]): number {
    const [batch, , height, width] = this.layout === 'nchw' ? this.outputShape(inputShape) : nhwcAsNchw(this.outputShape(inputShape));
    return 2 * batch * this.outChannels * (this.inChannels / this.groups) * height * width;
  }

  [forwardAsyncWith](input: TensorLike, out: TensorLike | null, privacy: Privacy): Promise<Tensor> {
    return this.#runAsync(input, out, privacy);
  }

  [chainSteps](builder: ChainBuilder, inputShape: readonly number[], input: number): number {
    this.#lifetime.checkOpen();
    const { dims, outputShape } = planInput(inputShape, this.#spec, this.inChannels, this.outChannels, 'input', LAYER_EXPECTS);
    const output = builder.buffer(elementsOf(outputShape));
    builder.steps.push({ op: 'conv', layer: this.#prepared, ...dims, input, output });
    builder.lifetimes.push(this.#lifetime);
    return output;
  }

  [foldableWeights](): FoldableWeights {
    return {
      channels: this.outChannels,
      weight: new Float32Array(this.#weight),
      bias: this.#bias ? new Float32Array(this.#bias) : null,
      rebuild: (weight, bias) =>
        new Conv1x1({
          inChannels: this.inChannels,
          outChannels: this.outChannels,
          weight: { data: weight, shape: [this.outChannels, this.inChannels / this.groups] },
          bias,
          stride: this.stride,
          padding: this.padding,
          groups: this.groups,
          activation: this.activation,
          negativeSlope: this.negativeSlope,
          layout: this.layout,
        }),
    };
  }

  #runAsync(input: TensorLike, out: TensorLike | null | undefined, privacy: Privacy): Promise<Tensor> {
    return this.#lifetime.track(() => callAsync(async () => {
      this.#lifetime.checkOpen();
      const { x, outData } = this.#prepare(input, out);
      const outputCount = elementCount(x.outputShape, 'output shape');
      checkQueueRoom(x.data.length + outputCount);
      const output = outData ?? allocateFloats(outputCount);
      await this.#prepared.runAsync(x.dims.batch, x.dims.height, x.dims.width, x.data, output, privacy.out || outData === null, privacy.input);
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
