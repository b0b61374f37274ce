// Native chains: Sequential's async forward runs all its layers as one job on one worker thread when
// every layer can describe itself as native steps (the library's own layers can; a user's layer
// cannot, and a Sequential holding one runs layer by layer). One job instead of one per layer saves
// a thread hop and an event-loop turn per layer, which on small layers costs more than the work.
import type { NativeActivation, NativePreparedConv, NativePreparedDepthwise } from '../binding';
import type { Lifetime } from './lifetime';

export type ChainStep =
  | { op: 'conv'; layer: NativePreparedConv; batch: number; height: number; width: number; input: number; output: number }
  | { op: 'depthwise'; layer: NativePreparedDepthwise; batch: number; height: number; width: number; input: number; output: number }
  | { op: 'add'; input: number; output: number; elements: number; activation: NativeActivation; negativeSlope: number }
  | { op: 'meanPool'; input: number; output: number; planes: number; pixels: number }
  | { op: 'copy'; input: number; output: number; elements: number };

/** What the layers add to a chain: steps over numbered buffers, and their lifetimes to check per call. */
export class ChainBuilder {
  readonly steps: ChainStep[] = [];
  readonly lifetimes: Lifetime[] = [];
  /** Floats of each buffer; 0 is the chain's input. */
  readonly #bufferElements: number[];

  constructor(inputElements: number) {
    this.#bufferElements = [inputElements];
  }

  /** A new buffer of this many floats. */
  buffer(elements: number): number {
    this.#bufferElements.push(elements);
    return this.#bufferElements.length - 1;
  }

  /**
   * The steps and buffer sizes as the native chain takes them: the buffer holding the result
   * (`result`) numbered last, and copied out first when it is the input itself.
   */
  finish(result: number): { steps: ChainStep[]; bufferElements: number[] } {
    if (result === 0) {
      const copy = this.buffer(this.#bufferElements[0]);
      this.steps.push({ op: 'copy', input: 0, output: copy, elements: this.#bufferElements[0] });
      result = copy;
    }
    const last = this.#bufferElements.length - 1;
    // Swap the result with the last buffer: every other number stays as it was.
    const renumber = (b: number) => (b === result ? last : b === last ? result : b);
    const bufferElements = this.#bufferElements.map((_, b) => this.#bufferElements[renumber(b)]);
    const steps = this.steps.map((step) => ({ ...step, input: renumber(step.input), output: renumber(step.output) }));
    return { steps, bufferElements };
  }
}

/**
 * Adds the layer's steps for an input of `inputShape` held in buffer `input`; returns the buffer that
 * holds its result (its input itself for a reshape), or null when the layer cannot run natively (the
 * chain is then abandoned). Layers never write a buffer they did not make, except a residual's add
 * into its block's result.
 */
export const chainSteps: unique symbol = Symbol('conv1x1.chainSteps');

export interface ChainableLayer {
  [chainSteps](builder: ChainBuilder, inputShape: readonly number[], input: number): number | null;
}

/** The layer's steps, or null when it is not one of the library's native layers. */
export function addChainSteps(layer: unknown, builder: ChainBuilder, inputShape: readonly number[], input: number): number | null {
  const chainable = layer as Partial<ChainableLayer>;
  return typeof chainable[chainSteps] === 'function' ? chainable[chainSteps](builder, inputShape, input) : null;
}
