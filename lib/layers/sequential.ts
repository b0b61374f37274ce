// Sequential([...layers]): each layer's output is the next one's input. forward() makes one JS call
// per layer, into intermediate buffers kept per input shape and reused, so that after the first call
// no layer allocates. forwardAsync() runs the whole chain as one native job when every layer is one
// of the library's (see chain.ts); otherwise it goes layer by layer, each concurrent call taking its
// own set of intermediates from a small pool.
import { callAsync, callSync, checkQueueRoom } from '../async-call';
import { native, type NativePreparedChain } from '../binding';
import { readOut } from '../conv-spec';
import { shapeError } from '../errors';
import { allocateFloats, elementsOf, readTensor, Tensor, type TensorLike } from '../tensor';
import { addChainSteps, ChainBuilder, chainSteps } from './chain';
import { closeAll, forwardAsyncOf, forwardAsyncWith, type Layer, type Privacy } from './layer';
import { Lifetime } from './lifetime';

/** Sets of intermediate buffers kept per input shape for async calls (more are made when needed). */
const MAX_IDLE_SETS = 4;
/** Input shapes whose buffers are kept; the oldest is dropped beyond this. */
const MAX_PLANS = 8;

interface Plan {
  shapes: number[][];  // output shape of each layer
  inputElements: number;
  syncSet: Float32Array[] | null;
  idleSets: AsyncSet[];
  chain: NativeChain | null | undefined;  // undefined: not tried yet; null: some layer is not native
}

/** The whole Sequential as one native job, and the lifetimes of the layers it runs. */
interface NativeChain {
  prepared: NativePreparedChain;
  lifetimes: Lifetime[];
  arenaElements: number;
}

/** One async call's own buffers: a snapshot of its input, and every layer's output but the last. */
interface AsyncSet {
  input: Float32Array;
  outputs: Float32Array[];
}

// A result that is still one of the kept buffers (Flatten's view of the previous layer's output, as
// the last layer) would be overwritten by the next call: it is copied out.
function ownResult(result: Tensor, kept: readonly Float32Array[]): Tensor {
  if (!kept.some((buffer) => buffer.buffer === result.data.buffer)) return result;
  const copy = allocateFloats(result.data.length);
  copy.set(result.data);
  return Tensor.fromTrusted(copy, result.shape);
}

export class Sequential implements Layer {
  readonly kind = 'Sequential';
  readonly layers: readonly Layer[];
  readonly #plans = new Map<string, Plan>();
  readonly #lifetime = new Lifetime('Sequential');

  constructor(layers: readonly Layer[]) {
    if (!Array.isArray(layers) || layers.length === 0) {
      throw shapeError('Sequential needs a non-empty array of layers');
    }
    layers.forEach((layer, i) => {
      if (!layer || typeof layer.forward !== 'function' || typeof layer.outputShape !== 'function') {
        throw shapeError(`Sequential layers[${i}] is not a layer (an object with forward, forwardAsync and outputShape)`);
      }
    });
    this.layers = Object.freeze([...layers]);
  }

  outputShape(inputShape: readonly number[]): number[] {
    const shapes = this.#plan(inputShape).shapes;
    return [...shapes[shapes.length - 1]];
  }

  /**
   * Refuses new calls (ERR_CLOSED), then, once the calls in flight have gone through all their
   * layers, closes every layer that can be closed and drops the kept buffers; see Conv1x1.close().
   */
  close(): Promise<void> {
    return this.#lifetime.closeThen(async () => {
      try {
        await closeAll(this.layers);
      } finally {
        for (const plan of this.#plans.values()) plan.chain?.prepared.close();
        this.#plans.clear();
      }
    });
  }

  flops(inputShape: readonly number[]): number {
    const shapes = this.#plan(inputShape).shapes;
    return this.layers.reduce((sum, layer, i) => sum + layer.flops(i === 0 ? inputShape : shapes[i - 1]), 0);
  }

  forward(input: TensorLike, out?: TensorLike | null): Tensor {
    return callSync(() => {
      this.#lifetime.checkOpen();
      const x = readTensor(input, 'input');
      const plan = this.#plan(x.shape);
      plan.syncSet ??= this.#allocateSet(plan);
      let current: TensorLike = x;
      const last = this.layers.length - 1;
      for (let i = 0; i < last; i++) {
        current = this.layers[i].forward(current, { data: plan.syncSet[i], shape: plan.shapes[i] });
      }
      return ownResult(this.layers[last].forward(current, out), plan.syncSet);
    });
  }

  forwardAsync(input: TensorLike, out?: TensorLike | null): Promise<Tensor> {
    return this.#lifetime.track(() => callAsync(() => this.#runAsync(input, out ?? null, { input: false, out: false })));
  }

  [forwardAsyncWith](input: TensorLike, out: TensorLike | null, privacy: Privacy): Promise<Tensor> {
    return this.#lifetime.track(() => this.#runAsync(input, out, privacy));
  }

  // Every layer's steps in order, or null as soon as one layer cannot run natively.
  [chainSteps](builder: ChainBuilder, inputShape: readonly number[], input: number): number | null {
    this.#lifetime.checkOpen();
    const shapes = this.#plan(inputShape).shapes;
    let current: number | null = input;
    for (let i = 0; i < this.layers.length && current !== null; i++) {
      current = addChainSteps(this.layers[i], builder, i === 0 ? inputShape : shapes[i - 1], current);
    }
    if (current !== null) builder.lifetimes.push(this.#lifetime);
    return current;
  }

  // As one native job when the chain allows; otherwise layer by layer: the input is snapshotted into
  // this call's own buffer when it is the caller's (as every async call snapshots), and each layer
  // writes into another of the call's buffers: all of them are private, so no layer copies again.
  async #runAsync(input: TensorLike, out: TensorLike | null, privacy: Privacy): Promise<Tensor> {
    this.#lifetime.checkOpen();
    const x = readTensor(input, 'input');
    const plan = this.#plan(x.shape);
    const chain = this.#chain(plan, x.shape);
    if (chain) return this.#runChain(chain, plan, x, out, privacy);
    // A call's buffers are allocated here, before its first layer is admitted: refuse it first
    // when the queue of async calls is full.
    if (plan.idleSets.length === 0) checkQueueRoom(plan.inputElements + plan.shapes.reduce((sum, shape) => sum + elementsOf(shape), 0));
    const set = plan.idleSets.pop() ?? this.#allocateAsyncSet(plan);
    try {
      let current: TensorLike = x;
      if (!privacy.input) {
        set.input.set(x.data);
        current = { data: set.input, shape: x.shape };
      }
      const own = [set.input, ...set.outputs].map((buffer) => buffer.buffer);
      const last = this.layers.length - 1;
      for (let i = 0; i <= last; i++) {
        const target = i === last ? out : { data: set.outputs[i], shape: plan.shapes[i] };
        current = await forwardAsyncOf(this.layers[i], current, target, {
          // Private only if it really is one of this call's buffers: a layer may return an array of
          // its own (a user's layer), and the first may be the caller's private buffer.
          input: (i === 0 && privacy.input) || own.includes(current.data.buffer),
          out: i === last ? privacy.out : true,
        });
      }
      return ownResult(current as Tensor, [set.input, ...set.outputs]);
    } finally {
      if (plan.idleSets.length < MAX_IDLE_SETS) plan.idleSets.push(set);
    }
  }

  // One native job for the whole chain. Its layers' lifetimes are checked per call (the chain shares
  // their weights, so a layer closed on its own would otherwise still run here; a chain with a closed
  // layer is dropped, releasing its share of the weights), and the call counts as in flight on each
  // of them, so that closing any layer inside waits for it as it waits for the layer's own calls.
  async #runChain(chain: NativeChain, plan: Plan, x: TensorLike, out: TensorLike | null, privacy: Privacy): Promise<Tensor> {
    if (chain.lifetimes.some((lifetime) => lifetime.closed)) {
      chain.prepared.close();
      plan.chain = undefined;
      for (const lifetime of chain.lifetimes) lifetime.checkOpen();
    }
    const shape = plan.shapes[plan.shapes.length - 1];
    const outData = readOut(out, shape, 'out', { input: x.data, weight: null, bias: null });
    const outputElements = elementsOf(shape);
    checkQueueRoom((privacy.input ? 0 : plan.inputElements) + outputElements + chain.arenaElements);
    const output = outData ?? allocateFloats(outputElements);
    await Lifetime.trackAll(chain.lifetimes, () =>
      chain.prepared.runAsync(x.data, output, privacy.out || outData === null, privacy.input));
    return Tensor.fromTrusted(output, shape);
  }

  #chain(plan: Plan, inputShape: readonly number[]): NativeChain | null {
    if (plan.chain === undefined) {
      const builder = new ChainBuilder(plan.inputElements);
      const result = this[chainSteps](builder, inputShape, 0);
      if (result === null) {
        plan.chain = null;
      } else {
        const { steps, bufferElements } = builder.finish(result);
        const prepared = new native.PreparedChain(steps, bufferElements);
        plan.chain = { prepared, lifetimes: builder.lifetimes, arenaElements: prepared.arenaElements() };
      }
    }
    return plan.chain;
  }

  // Output shapes of every layer for this input shape, computed once (and checked: a layer that does
  // not accept its predecessor's output fails here, naming both).
  #plan(inputShape: readonly number[]): Plan {
    const key = inputShape.join(',');
    let plan = this.#plans.get(key);
    if (!plan) {
      const shapes: number[][] = [];
      let shape = [...inputShape];
      this.layers.forEach((layer, i) => {
        try {
          shape = layer.outputShape(shape);
        } catch (error) {
          if (error instanceof Error) error.message = `Sequential layers[${i}] (${layer.kind}): ${error.message}`;
          throw error;
        }
        shapes.push(shape);
      });
      plan = { shapes, inputElements: elementsOf(inputShape), syncSet: null, idleSets: [], chain: undefined };
      if (this.#plans.size >= MAX_PLANS) {
        // The oldest shape's plan goes, and its chain's share of the weights with it.
        const oldest = this.#plans.keys().next().value as string;
        this.#plans.get(oldest)?.chain?.prepared.close();
        this.#plans.delete(oldest);
      }
      this.#plans.set(key, plan);
    }
    return plan;
  }

  #allocateSet(plan: Plan): Float32Array[] {
    return plan.shapes.slice(0, -1).map((shape) => allocateFloats(elementsOf(shape)));
  }

  #allocateAsyncSet(plan: Plan): AsyncSet {
    return { input: allocateFloats(plan.inputElements), outputs: this.#allocateSet(plan) };
  }
}
