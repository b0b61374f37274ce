// Linear (fully connected) on [N, in] → [N, out]: y = x · Wᵀ + b, as torch.nn.Linear. It runs as a 1×1
// convolution in NHWC layout over N one-pixel images, which is exactly one sgemm for the batch.
import { callSync } from '../async-call';
import { shapeError } from '../errors';
import { readTensor, Tensor, type TensorLike } from '../tensor';
import { checkOptionNames, readInteger, readOptionsObject, type Activation } from '../validate';
import { Conv1x1 } from './conv1x1';
import { readBatchNormWeights, type FromWeightsBatchNorm, type TensorSource } from '../model/tensor-source';
import { fuseBatchNorm } from './batchnorm';
import { foldableWeights, forwardAsyncWith, type FoldableWeights, type Layer, type Privacy } from './layer';
import { chainSteps, type ChainBuilder } from './chain';
import { Lifetime } from './lifetime';

export interface LinearFromWeightsOptions extends FromWeightsBatchNorm {
  activation?: Activation;
  negativeSlope?: number;
}

export interface LinearOptions {
  inFeatures: number;
  outFeatures: number;
  /** [outFeatures, inFeatures], as torch.nn.Linear stores it. */
  weight: TensorLike;
  /** Float32Array or tensor of shape [outFeatures]. */
  bias?: Float32Array | TensorLike | null;
  activation?: Activation;
  negativeSlope?: number;
}

const OPTION_NAMES = ['inFeatures', 'outFeatures', 'weight', 'bias', 'activation', 'negativeSlope'];

export class Linear implements Layer {
  readonly kind = 'Linear';
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly #conv: Conv1x1;
  readonly #lifetime = new Lifetime('Linear');

  constructor(options: LinearOptions) {
    const opts = readOptionsObject(options, 'Linear options');
    checkOptionNames(opts, OPTION_NAMES, 'Linear options');
    this.inFeatures = readInteger(opts.inFeatures, 'Linear options.inFeatures', 0);
    this.outFeatures = readInteger(opts.outFeatures, 'Linear options.outFeatures', 0);
    const weight = readTensor(opts.weight, 'Linear options.weight', { ranks: [2], layoutHint: '([outFeatures, inFeatures])' });
    if (weight.shape[0] !== this.outFeatures || weight.shape[1] !== this.inFeatures) {
      throw shapeError(
        `Linear options.weight has shape [${weight.shape.join(', ')}] but outFeatures ${this.outFeatures} ` +
          `and inFeatures ${this.inFeatures} need [${this.outFeatures}, ${this.inFeatures}]`,
      );
    }
    this.#conv = new Conv1x1({
      inChannels: this.inFeatures,
      outChannels: this.outFeatures,
      weight,
      bias: opts.bias as LinearOptions['bias'],
      activation: opts.activation as Activation | undefined,
      negativeSlope: opts.negativeSlope as number | undefined,
      layout: 'nhwc',
    });
  }

  /** The layer stored under a PyTorch prefix: `<prefix>.weight` [out, in] and `<prefix>.bias`. */
  static fromWeights(store: TensorSource, prefix: string, options: LinearFromWeightsOptions = {}): Linear {
    const { batchNorm, eps, ...rest } = options;
    const weight = store.tensor(`${prefix}.weight`);
    const [outFeatures = 0, inFeatures = 0] = weight.shape;
    const layer = new Linear({
      ...rest,
      inFeatures,
      outFeatures,
      weight,
      bias: store.has(`${prefix}.bias`) ? store.tensor(`${prefix}.bias`, [outFeatures]) : null,
    });
    return batchNorm ? fuseBatchNorm(layer, readBatchNormWeights(store, batchNorm, outFeatures, eps)) : layer;
  }

  get activation(): Activation {
    return this.#conv.activation;
  }

  outputShape(inputShape: readonly number[]): number[] {
    return callSync(() => {
      this.#checkRank(inputShape);
      return [inputShape[0], ...this.#conv.outputShape(this.#asImages(inputShape)).slice(3)];
    });
  }

  forward(input: TensorLike, out?: TensorLike | null): Tensor {
    this.#lifetime.checkOpen();
    return this.#reshapeResult(this.#conv.forward(this.#asImageTensor(input), this.#asImageOut(input, out)));
  }

  forwardAsync(input: TensorLike, out?: TensorLike | null): Promise<Tensor> {
    return this.#lifetime.track(() => this.#runAsync(input, out ?? null, { input: false, out: false }));
  }

  [forwardAsyncWith](input: TensorLike, out: TensorLike | null, privacy: Privacy): Promise<Tensor> {
    return this.#lifetime.track(() => this.#runAsync(input, out, privacy));
  }

  async #runAsync(input: TensorLike, out: TensorLike | null, privacy: Privacy): Promise<Tensor> {
    this.#lifetime.checkOpen();
    const images = this.#asImageTensor(input);
    return this.#reshapeResult(await this.#conv[forwardAsyncWith](images, this.#asImageOut(input, out), privacy));
  }

  /** Releases the native weights once the calls in flight have settled; see Conv1x1.close(). */
  close(): Promise<void> {
    return this.#lifetime.closeThen(() => this.#conv.close());
  }

  flops(inputShape: readonly number[]): number {
    this.#checkRank(inputShape);
    return 2 * inputShape[0] * this.inFeatures * this.outFeatures;
  }

  [chainSteps](builder: ChainBuilder, inputShape: readonly number[], input: number): number {
    this.#lifetime.checkOpen();
    this.outputShape(inputShape);
    builder.lifetimes.push(this.#lifetime);
    return this.#conv[chainSteps](builder, this.#asImages(inputShape), input);
  }

  [foldableWeights](): FoldableWeights {
    const inner = this.#conv[foldableWeights]();
    return {
      ...inner,
      rebuild: (weight, bias) =>
        new Linear({
          inFeatures: this.inFeatures,
          outFeatures: this.outFeatures,
          weight: { data: weight, shape: [this.outFeatures, this.inFeatures] },
          bias,
          activation: this.#conv.activation,
          negativeSlope: this.#conv.negativeSlope,
        }),
    };
  }

  #checkRank(shape: readonly number[]): void {
    if (!Array.isArray(shape) || shape.length !== 2) {
      throw shapeError(`Linear input must have 2 dimensions [N, ${this.inFeatures}] but has shape [${String(shape)}]`);
    }
  }

  // [N, in] is, byte for byte, N one-pixel NHWC images [N, 1, 1, in].
  #asImages(shape: readonly number[]): number[] {
    return [shape[0], 1, 1, shape[1]];
  }

  #asImageTensor(input: TensorLike): TensorLike {
    const x = readTensor(input, 'input', { ranks: [2], layoutHint: `[N, ${this.inFeatures}]` });
    if (x.shape[1] !== this.inFeatures) {
      throw shapeError(`input.shape[1] is ${x.shape[1]} but the Linear layer expects ${this.inFeatures} input features`);
    }
    return { data: x.data, shape: this.#asImages(x.shape) };
  }

  #asImageOut(input: TensorLike, out: TensorLike | null | undefined): TensorLike | null {
    if (out === undefined || out === null) return null;
    const o = readTensor(out, 'out', { ranks: [2], layoutHint: `[N, ${this.outFeatures}]`, rejectVolatile: true });
    const batch = input.shape[0];
    if (o.shape[0] !== batch || o.shape[1] !== this.outFeatures) {
      throw shapeError(`out.shape is [${o.shape.join(', ')}] but the output shape is [${batch}, ${this.outFeatures}]`);
    }
    return { data: o.data, shape: [batch, 1, 1, this.outFeatures] };
  }

  #reshapeResult(y: Tensor): Tensor {
    return Tensor.fromTrusted(y.data, [y.shape[0], y.shape[3]]);
  }
}
