// Sequential's async forward as one native job (layers/chain.ts, native/binding/layer_chain.cc): the
// same answers as the layer-by-layer sync forward for every layer kind and buffer arrangement, the
// fallback for a user's layer, lifetimes of the layers inside, `out`, and a native chain given
// nonsense.
import { beforeEach, describe, expect, it, vi } from 'vitest';

import {
  Conv1x1,
  DepthwiseConv2d,
  Flatten,
  GlobalAvgPool,
  Linear,
  Residual,
  SeparableConv2d,
  Sequential,
  Tensor,
  backend,
  setQueueLimits,
  type Conv1x1LayerOptions,
  type Layer,
  type TensorLike,
} from '../lib/index';
import { native } from '../lib/binding';
import { forwardAsyncWith } from '../lib/layers/layer';
import { BACKENDS, onBackend } from './backends';
import { seededFloats } from './reference';

const conv = (cin: number, cout: number, seed: number, extra: Partial<Conv1x1LayerOptions> = {}) => {
  const perGroup = cin / (extra.groups ?? 1);
  return new Conv1x1({ inChannels: cin, outChannels: cout, weight: { data: seededFloats(cout * perGroup, seed), shape: [cout, perGroup] }, bias: seededFloats(cout, seed + 1), ...extra });
};
const depthwise = (c: number, seed: number, extra: object = {}) =>
  new DepthwiseConv2d({ channels: c, kernelSize: 3, padding: 1, weight: { data: seededFloats(c * 9, seed), shape: [c, 1, 3, 3] }, bias: seededFloats(c, seed + 1), ...extra });
const linear = (inF: number, outF: number, seed: number) =>
  new Linear({ inFeatures: inF, outFeatures: outF, weight: { data: seededFloats(outF * inF, seed), shape: [outF, inF] }, bias: seededFloats(outF, seed + 1), activation: 'silu' });
const input = (shape: number[], seed: number) => new Tensor(seededFloats(shape.reduce((a, b) => a * b, 1), seed), shape);

/** Every element within a few float32 ulps of the sync forward's (activations run in float there, double here). */
function expectSame(got: Float32Array, want: Float32Array, label: string): void {
  expect(got.length, label).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i]));
    if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
  }
  expect(worst, `${label}: worst relative difference`).toBeLessThanOrEqual(4 * 2 ** -23);
}

// Models whose every layer runs natively in one chain, with the buffer arrangements that need care.
const CHAINS: [string, () => Sequential, number[]][] = [
  ['conv → depthwise (stride 2) → conv, NCHW', () => new Sequential([conv(8, 24, 1, { activation: 'relu6' }), depthwise(24, 3, { stride: 2, activation: 'relu6' }), conv(24, 16, 5)]), [2, 8, 9, 7]],
  ['inverted residual blocks, as the default model', () => new Sequential([
    conv(16, 16, 1),
    new Residual(new Sequential([conv(16, 48, 3, { activation: 'relu6' }), depthwise(48, 5, { activation: 'relu6' }), conv(48, 16, 7)])),
    new Residual(new Sequential([conv(16, 48, 9, { activation: 'relu6' }), depthwise(48, 11, { activation: 'relu6' }), conv(48, 16, 13)]), { activation: 'relu' }),
    conv(16, 32, 15), new GlobalAvgPool(), linear(32, 10, 17)]), [3, 16, 6, 5]],
  ['strided, padded and grouped 1×1 convolutions', () => new Sequential([conv(12, 12, 1, { stride: 2, padding: 1 }), conv(12, 6, 3, { groups: 3 }), conv(6, 6, 5, { padding: [0, 2], activation: 'gelu' })]), [2, 12, 7, 6]],
  ['NHWC convolutions', () => new Sequential([conv(5, 9, 1, { layout: 'nhwc' }), conv(9, 4, 3, { layout: 'nhwc', activation: 'tanh' })]), [2, 4, 3, 5]],
  ['SeparableConv2d and a nested Sequential', () => new Sequential([
    new SeparableConv2d({ inChannels: 6, outChannels: 10, kernelSize: 3, padding: 1, depthwiseWeight: { data: seededFloats(54, 1), shape: [6, 1, 3, 3] }, pointwiseWeight: { data: seededFloats(60, 2), shape: [10, 6] } }),
    new Sequential([conv(10, 10, 3), new Sequential([conv(10, 4, 5)])])]), [1, 6, 8, 8]],
  ['Flatten last: the result is a reshape of the previous buffer', () => new Sequential([conv(4, 3, 1), new Flatten()]), [2, 4, 3, 3]],
  ['Flatten alone: the result is the input, copied', () => new Sequential([new Flatten()]), [2, 3, 2, 2]],
  ['Residual around a reshape: the add needs a copy of its input', () => new Sequential([new GlobalAvgPool(), new Residual(new Flatten(), { activation: 'leaky_relu', negativeSlope: 0.2 }), linear(5, 3, 1)]), [2, 5, 3, 4]],
  ['empty batch', () => new Sequential([conv(4, 6, 1), depthwise(6, 3), new GlobalAvgPool()]), [0, 4, 5, 5]],
];

describe.each(BACKENDS)('Sequential.forwardAsync as one native job on %s', (kind) => {
  beforeEach(() => onBackend(kind));

  it.each(CHAINS)('%s: equals the layer-by-layer forward, with and without out', async (_name, make, shape) => {
    const model = make();
    const x = input(shape, 31);
    const want = model.forward(x);
    expectSame((await model.forwardAsync(x)).data, want.data, 'async');
    const out = new Tensor(new Float32Array(want.data.length).fill(Number.NaN), want.shape);
    const got = await model.forwardAsync(x, out);
    expect(got.data).toBe(out.data);
    expect(got.shape).toEqual(want.shape);
    expectSame(out.data, want.data, 'async into out');
    // Concurrent calls on different inputs, each with its own arena.
    const inputs = Array.from({ length: 6 }, (_, i) => input(shape, 40 + i));
    const results = await Promise.all(inputs.map((xi) => model.forwardAsync(xi)));
    results.forEach((y, i) => expectSame(y.data, model.forward(inputs[i]).data, `concurrent ${i}`));
  });
});

describe('the chain and the layers in it', () => {
  it('runs no layer\'s own async forward when every layer is native, and falls back layer by layer for a user\'s layer', async () => {
    const first = conv(4, 4, 1), second = conv(4, 4, 3);
    const own = vi.spyOn(first as unknown as { [forwardAsyncWith]: () => Promise<Tensor> }, forwardAsyncWith);
    const x = input([1, 4, 3, 3], 5);
    const native = new Sequential([first, second]);
    expectSame((await native.forwardAsync(x)).data, native.forward(x).data, 'chained');
    expect(own).not.toHaveBeenCalled();
    const identity: Layer = {
      kind: 'Identity',
      outputShape: (s) => [...s],
      forward: (t: TensorLike) => t as Tensor,
      forwardAsync: async (t: TensorLike) => t as Tensor,
      flops: () => 0,
    };
    const mixed = new Sequential([first, identity, second]);
    expectSame((await mixed.forwardAsync(x)).data, native.forward(x).data, 'layer by layer');
    expect(own).toHaveBeenCalledTimes(1);
  });

  it('never writes into the caller\'s input, also when a residual\'s block only reshapes it', async () => {
    for (const model of [new Sequential([new Residual(new Flatten())]), new Residual(new Flatten(), { activation: 'relu' })]) {
      const x = new Tensor(new Float32Array([1, -2, 3, 4, 5, -6]), [2, 3]);
      const y = model.forward(x);
      expect(Array.from(x.data)).toEqual([1, -2, 3, 4, 5, -6]);
      expect(Array.from(y.data)).toEqual(model instanceof Residual ? [2, 0, 6, 8, 10, 0] : [2, -4, 6, 8, 10, -12]);
      const z = await model.forwardAsync(x);
      expect(Array.from(x.data)).toEqual([1, -2, 3, 4, 5, -6]);
      expect(Array.from(z.data)).toEqual(Array.from(y.data));
    }
  });

  it('snapshots the caller\'s input at the call', async () => {
    const model = new Sequential([conv(4, 8, 1), depthwise(8, 3)]);
    const x = input([2, 4, 5, 5], 7);
    const want = model.forward(x).data;
    const pending = model.forwardAsync(x);
    x.data.fill(Number.NaN);
    expectSame((await pending).data, want, 'snapshot');
  });

  it('refuses with ERR_CLOSED once a layer inside was closed on its own, and after Sequential.close()', async () => {
    const inner = conv(4, 4, 3);
    const model = new Sequential([conv(4, 4, 1), new Residual(new Sequential([inner]))]);
    const x = input([1, 4, 2, 2], 9);
    await model.forwardAsync(x);  // the chain exists now
    await inner.close();
    await expect(model.forwardAsync(x)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(() => model.forward(x)).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    await expect(model.forwardAsync(x)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    const other = new Sequential([conv(4, 4, 1)]);
    await other.forwardAsync(x);
    await other.close();
    await expect(other.forwardAsync(x)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('counts a chained call as in flight on every layer inside: closing one waits for it', async () => {
    const inner = new Sequential([conv(64, 64, 1), depthwise(64, 3)]);
    const model = new Sequential([inner, conv(64, 64, 5)]);
    const x = input([8, 64, 48, 48], 13);  // milliseconds of work: the close comes while it runs
    const want = model.forward(x).data;
    let callSettled = false, closeResolved = false;
    const call = model.forwardAsync(x).finally(() => { callSettled = true; });
    const closing = inner.close().then(() => { closeResolved = true; });
    // Checked at every turn of the event loop until both are done: never closed while still running.
    while (!(callSettled && closeResolved)) {
      await new Promise((resolve) => setImmediate(resolve));
      expect(!closeResolved || callSettled, 'inner.close() resolved while the chained call ran').toBe(true);
    }
    await closing;
    expectSame((await call).data, want, 'the call that close() waited for');
    await expect(model.forwardAsync(x)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('asks the queue for the arena too before it allocates anything', async () => {
    const model = new Sequential([conv(8, 64, 1), conv(64, 64, 3), conv(64, 8, 5)]);
    const x = input([2, 8, 16, 16], 15);
    await model.forwardAsync(x);  // the chain exists now
    const before = backend().queue;
    // Input and output 2·8·256 floats each; the two 64-channel intermediates overlap in time, so the
    // arena holds both: 2 · 2·64·256 floats.
    const needs = 4 * (2 * 2 * 8 * 256 + 2 * 2 * 64 * 256);
    setQueueLimits({ bytes: needs + 1024 });
    try {
      const first = model.forwardAsync(x);  // admitted: a call alone always is
      const refused = model.forwardAsync(x);
      await expect(refused).rejects.toMatchObject({ code: 'ERR_QUEUE_FULL' });
      await expect(refused).rejects.toThrow(new RegExp(`and this one needs ${needs} more`));
      await first;
    } finally {
      setQueueLimits({ bytes: before.maxBytes });
    }
  });

  it('checks out like the layers do: shape, overlap with the input', async () => {
    const model = new Sequential([conv(4, 4, 1), new Flatten()]);
    const x = input([1, 4, 2, 2], 11);
    await expect(model.forwardAsync(x, new Tensor(new Float32Array(16), [1, 4, 2, 2]))).rejects.toMatchObject({ code: 'ERR_SHAPE_MISMATCH' });
    await expect(model.forwardAsync(x, { data: x.data, shape: [1, 16] })).rejects.toMatchObject({ code: 'ERR_OVERLAP' });
    await expect(model.forwardAsync({ data: new Float32Array(15), shape: [1, 4, 2, 2] })).rejects.toMatchObject({ code: 'ERR_SHAPE_MISMATCH' });
  });
});

describe('native PreparedChain given nonsense', () => {
  const layer = () => new native.PreparedConv(
    { inChannels: 2, outChannels: 2, strideH: 1, strideW: 1, padH: 0, padW: 0, groups: 1, layout: 'nchw', activation: 'none', negativeSlope: 0.01 },
    new Float32Array(4).fill(1), null);
  const step = (extra: object = {}) => ({ op: 'conv', layer: layer(), batch: 1, height: 1, width: 1, input: 0, output: 1, ...extra });
  const make = (steps: unknown, sizes: unknown) => () => new native.PreparedChain(steps as never, sizes as never);
  const cases: [string, () => unknown, string][] = [
    ['steps not an array', make({}, [2, 2]), 'ERR_INVALID_ARG_TYPE'],
    ['a step not an object', make([1], [2, 2]), 'ERR_INVALID_ARG_TYPE'],
    ['an unknown op', make([{ ...step(), op: 'mystery' }], [2, 2]), 'ERR_INVALID_ARG_VALUE'],
    ['a layer that is not a PreparedConv', make([step({ layer: {} })], [2, 2]), 'ERR_INVALID_ARG_TYPE'],
    ['a depthwise op on a PreparedConv', make([step({ op: 'depthwise' })], [2, 2]), 'ERR_INVALID_ARG_TYPE'],
    ['a buffer index out of range', make([step({ output: 7 })], [2, 2]), 'ERR_OUT_OF_RANGE'],
    ['a huge buffer index', make([step({ output: 2 ** 40 })], [2, 2]), 'ERR_OUT_OF_RANGE'],
    ['a negative buffer index', make([step({ input: -1 })], [2, 2]), 'ERR_OUT_OF_RANGE'],
    ['sizes that disagree with the plan', make([step()], [2, 3]), 'ERR_SHAPE_MISMATCH'],
    ['one buffer read and written', make([step({ output: 0 })], [2, 2]), 'ERR_OUT_OF_RANGE'],
    ['a buffer read before written', make([step({ input: 1, output: 2 })], [2, 2, 2]), 'ERR_SHAPE_MISMATCH'],
    ['a buffer written twice', make([step(), step()], [2, 2]), 'ERR_SHAPE_MISMATCH'],
    ['an output never written', make([step()], [2, 2, 2]), 'ERR_SHAPE_MISMATCH'],
    ['an add into an unwritten buffer', make([{ op: 'add', input: 0, output: 1, elements: 2, activation: 'none', negativeSlope: 0 }], [2, 2]), 'ERR_SHAPE_MISMATCH'],
    ['a pool whose sizes do not multiply out', make([{ op: 'meanPool', input: 0, output: 1, planes: 3, pixels: 3 }], [8, 3]), 'ERR_SHAPE_MISMATCH'],
    ['a buffer larger than memory', make([{ op: 'copy', input: 0, output: 1, elements: 2 ** 50 }], [2 ** 50, 2 ** 50]), 'ERR_TOO_LARGE'],
    ['a negative size', make([step()], [2, -2]), 'ERR_OUT_OF_RANGE'],
    ['a single buffer', make([], [2]), 'ERR_OUT_OF_RANGE'],
    ['an unknown activation', make([step(), { op: 'add', input: 0, output: 1, elements: 2, activation: 'swish', negativeSlope: 0 }], [2, 2]), 'ERR_INVALID_ARG_VALUE'],
  ];
  it.each(cases)('%s: a coded error, no crash', (_name, build, code) => {
    expect(build).toThrow(expect.objectContaining({ code }));
  });

  it('a valid chain checks its call\'s buffers and refuses after close()', async () => {
    const chain = new native.PreparedChain([step() as never], [2, 2]);
    const y = await chain.runAsync(new Float32Array([1, 2]), new Float32Array(2), true, false);
    expect(Array.from(y)).toEqual([3, 3]);
    expect(() => chain.runAsync(new Float32Array(3), new Float32Array(2), true, false)).toThrow(expect.objectContaining({ code: 'ERR_SHAPE_MISMATCH' }));
    chain.close();
    expect(() => chain.runAsync(new Float32Array(2), new Float32Array(2), true, false)).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
  });
});
