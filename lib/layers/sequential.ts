// Sequential([...layers]): each layer's output is the next one's input, one JS call per layer. The
// intermediate outputs live in buffers kept per input shape and reused, so that after the first call
// no layer allocates; concurrent async calls each take their own set from a small pool.
import { callAsync, callSync } from '../async-call';
import { shapeError } from '../errors';
import { allocateFloats, readTensor, type Tensor, type TensorLike } from '../tensor';
import { forwardAsyncOf, forwardAsyncWith, type Layer, type Privacy } from './layer';

/** Sets of intermediate buffers kept per input shape for async calls (more are made when needed). */
const MAX_IDLE_SETS = 4;
/** Input shapes whose buffers are kept; the oldest is dropped beyond this. */
const MAX_PLANS = 8;

interface Plan {
  shapes: number[][];  // output shape of each layer
  syncSet: Float32Array[] | null;
  idleSets: Float32Array[][];
}

export class Sequential implements Layer {
  readonly kind = 'Sequential';
  readonly layers: readonly Layer[];
  readonly #plans = new Map<string, Plan>();

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

  flops(inputShape: readonly number[]): number {
    const shapes = this.#plan(inputShape).shapes;
    return this.layers.reduce((sum, layer, i) => sum + layer.flops(i === 0 ? inputShape : shapes[i - 1]), 0);
  }

  forward(input: TensorLike, out?: TensorLike | null): Tensor {
    return callSync(() => {
      const x = readTensor(input, 'input');
      const plan = this.#plan(x.shape);
      plan.syncSet ??= this.#allocateSet(plan);
      let current: TensorLike = x;
      const last = this.layers.length - 1;
      for (let i = 0; i < last; i++) {
        current = this.layers[i].forward(current, { data: plan.syncSet[i], shape: plan.shapes[i] });
      }
      return this.layers[last].forward(current, out);
    });
  }

  forwardAsync(input: TensorLike, out?: TensorLike | null): Promise<Tensor> {
    return callAsync(() => this[forwardAsyncWith](input, out ?? null, { input: false, out: false }));
  }

  // Every layer but the first reads, and every layer but the last writes, one of this call's own
  // buffers: those are private, so no layer snapshots or copies them.
  async [forwardAsyncWith](input: TensorLike, out: TensorLike | null, privacy: Privacy): Promise<Tensor> {
    const x = readTensor(input, 'input');
    const plan = this.#plan(x.shape);
    const set = plan.idleSets.pop() ?? this.#allocateSet(plan);
    try {
      let current: TensorLike = x;
      const last = this.layers.length - 1;
      for (let i = 0; i <= last; i++) {
        const target = i === last ? out : { data: set[i], shape: plan.shapes[i] };
        current = await forwardAsyncOf(this.layers[i], current, target, {
          input: i === 0 ? privacy.input : true,
          out: i === last ? privacy.out : true,
        });
      }
      return current as Tensor;
    } finally {
      if (plan.idleSets.length < MAX_IDLE_SETS) plan.idleSets.push(set);
    }
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
      plan = { shapes, syncSet: null, idleSets: [] };
      if (this.#plans.size >= MAX_PLANS) this.#plans.delete(this.#plans.keys().next().value as string);
      this.#plans.set(key, plan);
    }
    return plan;
  }

  #allocateSet(plan: Plan): Float32Array[] {
    return plan.shapes.slice(0, -1).map((shape) => allocateFloats(shape.reduce((a, b) => a * b, 1)));
  }
}
