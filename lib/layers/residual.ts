// Residual(block): y = act(block(x) + x), the skip connection of ResNet and MobileNetV2 blocks. The
// block's output shape must equal its input's. The add runs in JavaScript, in place on the output.
import { activationFunction } from '../activation';
import { Conv1x1Error, ErrorCodes, shapeError } from '../errors';
import { elementsOf, readTensor, sharesMemory, Tensor, type TensorLike } from '../tensor';
import { ACTIVATIONS, checkOptionNames, readChoice, readFiniteNumber, readOptionsObject, type Activation } from '../validate';
import { closeAll, forwardAsyncOf, forwardAsyncWith, type Layer, type Privacy } from './layer';
import { addChainSteps, chainSteps, type ChainBuilder } from './chain';
import { Lifetime } from './lifetime';

export interface ResidualOptions {
  /** Applied after the add (ResNet: 'relu'; MobileNetV2: 'none', the default). */
  activation?: Activation;
  negativeSlope?: number;
}

export class Residual implements Layer {
  readonly kind = 'Residual';
  readonly block: Layer;
  readonly activation: Activation;
  readonly negativeSlope: number;
  readonly #activate: (x: number) => number;
  readonly #lifetime = new Lifetime('Residual');

  constructor(block: Layer, options?: ResidualOptions) {
    if (!block || typeof (block as Layer).forward !== 'function' || typeof (block as Layer).outputShape !== 'function') {
      throw shapeError('Residual needs a layer (an object with forward, forwardAsync and outputShape)');
    }
    const opts = readOptionsObject(options, 'Residual options');
    checkOptionNames(opts, ['activation', 'negativeSlope'], 'Residual options');
    this.block = block;
    this.activation = readChoice(opts.activation, 'Residual options.activation', ACTIVATIONS, 'none');
    this.negativeSlope = readFiniteNumber(opts.negativeSlope, 'Residual options.negativeSlope', 0.01);
    this.#activate = activationFunction(this.activation, this.negativeSlope);
  }

  outputShape(inputShape: readonly number[]): number[] {
    const shape = this.block.outputShape(inputShape);
    if (shape.length !== inputShape.length || shape.some((d, i) => d !== inputShape[i])) {
      throw shapeError(
        `Residual: the block (${this.block.kind}) turns [${inputShape.join(', ')}] into [${shape.join(', ')}]; ` +
          'a residual add needs the same shape',
      );
    }
    return shape;
  }

  forward(input: TensorLike, out?: TensorLike | null): Tensor {
    this.#lifetime.checkOpen();
    const x = readTensor(input, 'input');
    this.outputShape(x.shape);
    this.#checkOut(x.data, out);
    return this.#add(this.#notTheInput(this.block.forward(x, out), x.data), x.data);
  }

  // A block that only reshapes returns the input's own memory: the add must not write into the
  // caller's array, so it adds into a copy.
  #notTheInput(y: Tensor, input: Float32Array): Tensor {
    return sharesMemory(y.data, input) ? Tensor.fromTrusted(new Float32Array(y.data), y.shape) : y;
  }

  // The skip reads the input after the block has written `out`: they must not share memory.
  #checkOut(input: Float32Array, out: TensorLike | null | undefined): void {
    if (out && sharesMemory(readTensor(out, 'out').data, input)) {
      throw new Conv1x1Error('Residual: out shares memory with the input, which the skip connection reads after the block', ErrorCodes.OVERLAP);
    }
  }

  forwardAsync(input: TensorLike, out?: TensorLike | null): Promise<Tensor> {
    return this.#lifetime.track(() => this.#runAsync(input, out ?? null, { input: false, out: false }));
  }

  [forwardAsyncWith](input: TensorLike, out: TensorLike | null, privacy: Privacy): Promise<Tensor> {
    return this.#lifetime.track(() => this.#runAsync(input, out, privacy));
  }

  async #runAsync(input: TensorLike, out: TensorLike | null, privacy: Privacy): Promise<Tensor> {
    this.#lifetime.checkOpen();
    const x = readTensor(input, 'input');
    this.outputShape(x.shape);
    this.#checkOut(x.data, out);
    // The skip input is read after the block finishes: a caller's array may have changed by then.
    const skip = privacy.input ? x.data : new Float32Array(x.data);
    const y = await forwardAsyncOf(this.block, x, out, privacy);
    return this.#add(privacy.input ? y : this.#notTheInput(y, x.data), skip);
  }

  // The block's steps, then the add into the block's result (never into the input itself: a block
  // that only reshapes returns its input, which is copied first).
  [chainSteps](builder: ChainBuilder, inputShape: readonly number[], input: number): number | null {
    this.#lifetime.checkOpen();
    this.outputShape(inputShape);
    let result = addChainSteps(this.block, builder, inputShape, input);
    if (result === null) return null;
    const elements = elementsOf(inputShape);
    if (result === input) {
      const copy = builder.buffer(elements);
      builder.steps.push({ op: 'copy', input, output: copy, elements });
      result = copy;
    }
    builder.steps.push({ op: 'add', input, output: result, elements, activation: this.activation, negativeSlope: this.negativeSlope });
    builder.lifetimes.push(this.#lifetime);
    return result;
  }

  /**
   * Refuses new calls (ERR_CLOSED), then closes the block (when it can be closed) once the calls in
   * flight have settled; see Conv1x1.close().
   */
  close(): Promise<void> {
    return this.#lifetime.closeThen(() => closeAll([this.block]));
  }

  flops(inputShape: readonly number[]): number {
    return this.block.flops(inputShape) + elementsOf(inputShape);
  }

  #add(y: Tensor, skip: Float32Array): Tensor {
    const data = y.data;
    const activate = this.#activate;
    if (this.activation === 'none') {
      for (let i = 0; i < data.length; i++) data[i] += skip[i];
    } else {
      for (let i = 0; i < data.length; i++) data[i] = activate(data[i] + skip[i]);
    }
    return y;
  }
}
