// GlobalAvgPool ([N, C, H, W] → [N, C], the mean over each channel's pixels, as
// torch's adaptive_avg_pool2d(x, 1) then flatten) and Flatten ([N, …] → [N, product]). Both are light
// memory passes, done in JavaScript; their async forms resolve on the next tick without a thread.
import { Conv1x1Error, ErrorCodes, shapeError } from '../errors';
import { allocateFloats, elementsOf, readTensor, sharesMemory, Tensor, type TensorLike } from '../tensor';
import { chainSteps, type ChainBuilder } from './chain';
import type { Layer } from './layer';

function readOutput(out: TensorLike | null | undefined, shape: number[], input: Float32Array): Float32Array {
  if (out === undefined || out === null) return allocateFloats(elementsOf(shape));
  const o = readTensor(out, 'out', { rejectVolatile: true });
  if (o.shape.length !== shape.length || o.shape.some((d, i) => d !== shape[i])) {
    throw shapeError(`out.shape is [${o.shape.join(', ')}] but the output shape is [${shape.join(', ')}]`);
  }
  if (sharesMemory(o.data, input)) {
    throw new Conv1x1Error('out.data shares memory with the input; the output must be a separate buffer', ErrorCodes.OVERLAP);
  }
  return o.data;
}

export class GlobalAvgPool implements Layer {
  readonly kind = 'GlobalAvgPool';

  outputShape(inputShape: readonly number[]): number[] {
    if (!Array.isArray(inputShape) || inputShape.length !== 4) {
      throw shapeError(`GlobalAvgPool input must have 4 dimensions [N, C, H, W] but has shape [${String(inputShape)}]`);
    }
    return [inputShape[0], inputShape[1]];
  }

  forward(input: TensorLike, out?: TensorLike | null): Tensor {
    const x = readTensor(input, 'input', { ranks: [4], layoutHint: '[N, C, H, W]' });
    const shape = this.outputShape(x.shape);
    const y = readOutput(out, shape, x.data);
    const pixels = x.shape[2] * x.shape[3];
    const planes = shape[0] * shape[1];
    for (let plane = 0; plane < planes; plane++) {
      // Summed in double: a float32 running sum over 3136 pixels would lose ~3 digits.
      let sum = 0;
      const start = plane * pixels;
      for (let i = start; i < start + pixels; i++) sum += x.data[i];
      y[plane] = sum / pixels;  // 0 / 0 = NaN for an empty image: the mean of no values
    }
    return Tensor.fromTrusted(y, shape);
  }

  async forwardAsync(input: TensorLike, out?: TensorLike | null): Promise<Tensor> {
    return this.forward(input, out);
  }

  [chainSteps](builder: ChainBuilder, inputShape: readonly number[], input: number): number {
    const [batch, channels, height, width] = inputShape;
    const output = builder.buffer(elementsOf(this.outputShape(inputShape)));
    builder.steps.push({ op: 'meanPool', input, output, planes: batch * channels, pixels: height * width });
    return output;
  }

  flops(inputShape: readonly number[]): number {
    return elementsOf(inputShape);
  }
}

export class Flatten implements Layer {
  readonly kind = 'Flatten';

  outputShape(inputShape: readonly number[]): number[] {
    if (!Array.isArray(inputShape) || inputShape.length < 1) {
      throw shapeError(`Flatten input must have at least 1 dimension but has shape [${String(inputShape)}]`);
    }
    return [inputShape[0], elementsOf(inputShape.slice(1))];
  }

  /** Without `out`, the result shares the input's memory (a reshape, as torch's flatten does). */
  forward(input: TensorLike, out?: TensorLike | null): Tensor {
    const x = readTensor(input, 'input');
    const shape = this.outputShape(x.shape);
    if (out === undefined || out === null) return Tensor.fromTrusted(x.data, shape);
    const y = readOutput(out, shape, x.data);
    y.set(x.data);
    return Tensor.fromTrusted(y, shape);
  }

  async forwardAsync(input: TensorLike, out?: TensorLike | null): Promise<Tensor> {
    return this.forward(input, out);
  }

  /** A reshape: the result is the input's buffer. */
  [chainSteps](_builder: ChainBuilder, inputShape: readonly number[], input: number): number {
    this.outputShape(inputShape);
    return input;
  }

  flops(): number {
    return 0;
  }
}
