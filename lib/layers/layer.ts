// What every layer offers, so that Sequential, Residual and the model loader can compose them.
import type { Tensor, TensorLike } from '../tensor';

export interface Layer {
  /** The layer's kind, as in error messages: 'Conv1x1', 'Linear', … */
  readonly kind: string;
  /** Shape of forward(input) for an input of this shape; throws like forward would. */
  outputShape(inputShape: readonly number[]): number[];
  /** Runs on the calling thread; writes into `out` when given (exactly the output shape). */
  forward(input: TensorLike, out?: TensorLike | null): Tensor;
  /** Runs on a worker thread when the work is native; the input is snapshotted at the call. */
  forwardAsync(input: TensorLike, out?: TensorLike | null): Promise<Tensor>;
  /** Floating-point operations of one forward pass on an input of this shape (for GFLOP/s). */
  flops(inputShape: readonly number[]): number;
  /**
   * Releases what the layer holds (native weights). Later calls throw or reject with Conv1x1Error
   * ERR_CLOSED; calls already running finish normally, and the promise resolves when they have.
   * Optional for user layers in a Sequential.
   */
  close?(): Promise<void>;
}

/** Closes each layer that can be closed, and resolves when all have finished. */
export async function closeAll(layers: readonly Layer[]): Promise<void> {
  await Promise.all(layers.map((layer) => (typeof layer.close === 'function' ? layer.close() : undefined)));
}

/**
 * Which of an async call's buffers only the caller uses until the promise settles (Sequential's
 * intermediates, outputs it allocated): a private input need not be snapshotted, and a private `out`
 * is written in place instead of through a copy. A user's arrays are never private.
 */
export interface Privacy {
  input: boolean;
  out: boolean;
}

/** The async forward with its buffers' privacy stated; forwardAsync is this with neither private. */
export const forwardAsyncWith: unique symbol = Symbol('conv1x1.forwardAsyncWith');

/** Layers with one weight row per output channel, which batch-norm folding rescales. */
export const foldableWeights: unique symbol = Symbol('conv1x1.foldableWeights');

export interface FoldableWeights {
  /** Output channels: the rows of `weight`. */
  channels: number;
  /** A copy of the weights, one contiguous row per output channel. */
  weight: Float32Array;
  /** A copy of the bias, or null. */
  bias: Float32Array | null;
  /** The same layer with these weights and bias. */
  rebuild(weight: Float32Array, bias: Float32Array): Layer;
}

export interface PrivacyAwareLayer extends Layer {
  [forwardAsyncWith](input: TensorLike, out: TensorLike | null, privacy: Privacy): Promise<Tensor>;
}

export interface FoldableLayer extends Layer {
  [foldableWeights](): FoldableWeights;
}

/** The layer's async forward, told which buffers are private when it can use that. */
export function forwardAsyncOf(layer: Layer, input: TensorLike, out: TensorLike | null, privacy: Privacy): Promise<Tensor> {
  const aware = layer as Partial<PrivacyAwareLayer>;
  return typeof aware[forwardAsyncWith] === 'function'
    ? aware[forwardAsyncWith](input, out, privacy)
    : layer.forwardAsync(input, out);
}

export function isFoldable(layer: Layer): layer is FoldableLayer {
  return typeof (layer as Partial<FoldableLayer>)[foldableWeights] === 'function';
}
