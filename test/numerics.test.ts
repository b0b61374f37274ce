// Every shape class against the float64 reference, on every backend: channel and pixel counts just
// below, at and above the kernels' tile edges; batch, stride, padding, groups and depthwise; every
// activation; both layouts; views at a byteOffset; with and without `out`.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { backend, conv1x1, Conv1x1, Tensor } from '../lib/index';
import { BACKENDS, onBackend } from './backends';
import {
  ALL_ACTIVATIONS,
  expectClose,
  maxErrors,
  referenceConv,
  seededFloats,
  type RefCase,
} from './reference';

// Just below, at and above the tile edges of every kernel (6-row, 8/16/32-column tiles) and powers of two.
const EDGE_SIZES = [1, 2, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65];

interface Built {
  input: Tensor;
  weight: Tensor;
  bias: Float32Array;
}

function build(c: RefCase, seed: number, inputScale = 1): Built {
  const groups = c.groups ?? 1;
  const nhwc = c.layout === 'nhwc';
  const inputShape = nhwc
    ? [c.batch, c.height, c.width, c.inChannels]
    : [c.batch, c.inChannels, c.height, c.width];
  const count = inputShape.reduce((a, b) => a * b, 1);
  return {
    input: new Tensor(seededFloats(count, seed).map((v) => v * inputScale), inputShape),
    weight: new Tensor(seededFloats(c.outChannels * (c.inChannels / groups), seed + 1), [
      c.outChannels,
      c.inChannels / groups,
    ]),
    bias: seededFloats(c.outChannels, seed + 2),
  };
}

function options(c: RefCase, bias: Float32Array | null) {
  return {
    bias,
    stride: c.stride,
    padding: c.padding,
    groups: c.groups,
    activation: c.activation,
    negativeSlope: c.negativeSlope,
    layout: c.layout,
  };
}

function check(c: RefCase, seed: number, label: string, withBias = true, inputScale = 1): void {
  const { input, weight, bias } = build(c, seed, inputScale);
  const b = withBias ? bias : null;
  const ref = referenceConv(c, input.data, weight.data, b);
  const y = conv1x1(input, weight, options(c, b));
  expect(y.shape, `${label}: shape`).toEqual(ref.shape);
  expectClose(y.data, ref, label);
}

describe.each(BACKENDS)('numerics on %s', (kind) => {
  beforeEach(() => onBackend(kind));

  it('reports the backend it runs on', () => {
    expect(backend().name === 'builtin').toBe(kind === 'builtin');
  });

  it.each(['nchw', 'nhwc'] as const)('sweeps Cin × Cout × H·W across tile edges (%s)', (layout) => {
    let seed = 1;
    for (const cin of EDGE_SIZES) {
      for (const cout of EDGE_SIZES) {
        for (const pixels of EDGE_SIZES) {
          // H·W = pixels as a 1×pixels image, and as a near-square one where it factors.
          const height = pixels % 3 === 0 ? 3 : 1;
          const c: RefCase = { batch: 1, inChannels: cin, outChannels: cout, height, width: pixels / height, layout };
          check(c, seed++, `${kind} ${layout} Cin ${cin} Cout ${cout} HW ${pixels}`, seed % 2 === 0);
        }
      }
    }
  });

  it.each(['nchw', 'nhwc'] as const)('batch 1–3 × stride 1–3 × padding 0–2 × groups × activation (%s)', (layout) => {
    let seed = 1000;
    for (const stride of [1, 2, 3]) {
      for (const pad of [0, 1, 2]) {
        for (const groups of [1, 2, 4, 'depthwise'] as const) {
          for (const activation of ALL_ACTIVATIONS) {
            const channels = 8;
            const c: RefCase = {
              batch: 1 + (seed % 3),
              inChannels: channels,
              outChannels: groups === 'depthwise' ? channels : 12,
              height: 5,
              width: 7,
              stride: [stride, stride === 3 ? 2 : stride],
              padding: [pad, (pad + 1) % 3],
              groups: groups === 'depthwise' ? channels : groups,
              activation,
              negativeSlope: activation === 'leaky_relu' ? 0.2 : undefined,
              layout,
            };
            // Scaled so that pre-activations span about ±8: every activation's kinks and tails are hit.
            check(c, seed++, `${kind} ${JSON.stringify(c)}`, true, 5);
          }
        }
      }
    }
  });

  it.each(ALL_ACTIVATIONS)('applies %s exactly over [-10, 10]', (activation) => {
    const values = Float32Array.from({ length: 2001 }, (_, i) => -10 + i / 100);
    const c: RefCase = { batch: 1, inChannels: 1, outChannels: 3, height: 1, width: values.length, activation, negativeSlope: 0.3 };
    const weight = new Tensor(new Float32Array([1, -1, 0.5]), [3, 1]);
    const bias = new Float32Array([0, 0.25, -0.5]);
    const y = conv1x1({ data: values, shape: [1, 1, 1, values.length] }, weight, { bias, activation, negativeSlope: 0.3 });
    expectClose(y.data, referenceConv(c, values, weight.data, bias), `${kind} ${activation} curve`);
    // And through the GEMM path (K > 1), where the epilogue runs after BLAS or the builtin kernel.
    const two = new Float32Array(values.length * 2);
    two.set(values);
    two.set(values.map((v) => -v / 2), values.length);
    const c2: RefCase = { ...c, inChannels: 2 };
    const w2 = new Tensor(new Float32Array([1, 0.5, -1, 1, 0.5, 0.25]), [3, 2]);
    const y2 = conv1x1({ data: two, shape: [1, 2, 1, values.length] }, w2, { bias, activation, negativeSlope: 0.3 });
    expectClose(y2.data, referenceConv(c2, two, w2.data, bias), `${kind} ${activation} curve K=2`);
  });

  it('handles large K and wide images (ResNet-like shapes, reduced)', () => {
    check({ batch: 2, inChannels: 512, outChannels: 70, height: 7, width: 7 }, 7, `${kind} K=512`);
    check({ batch: 1, inChannels: 300, outChannels: 33, height: 17, width: 19, layout: 'nhwc' }, 8, `${kind} nhwc K=300`);
    check({ batch: 1, inChannels: 24, outChannels: 144, height: 56, width: 56 }, 9, `${kind} 56x56`);
  });

  it('accepts views with a byteOffset for input, weight, bias and out', () => {
    const c: RefCase = { batch: 2, inChannels: 9, outChannels: 17, height: 3, width: 5 };
    const { input, weight, bias } = build(c, 77);
    const pad = (src: Float32Array, offset: number) => {
      const backing = new Float32Array(src.length + offset + 3).fill(Number.NaN);
      backing.set(src, offset);
      return backing.subarray(offset, offset + src.length);
    };
    const x = { data: pad(input.data, 5), shape: input.shape };
    const w = { data: pad(weight.data, 3), shape: [17, 9, 1, 1] };
    const b = pad(bias, 1);
    const outBacking = new Float32Array(2 * 17 * 15 + 20).fill(-7);
    const out = { data: outBacking.subarray(11, 11 + 2 * 17 * 15), shape: [2, 17, 3, 5] };
    const y = conv1x1(x, w, { bias: b, out });
    expect(y.data).toBe(out.data);
    expectClose(y.data, referenceConv(c, input.data, weight.data, bias), `${kind} views`);
    // Nothing outside the view was written.
    expect(Array.from(outBacking.subarray(0, 11))).toEqual(new Array(11).fill(-7));
    expect(Array.from(outBacking.subarray(11 + 2 * 17 * 15))).toEqual(new Array(9).fill(-7));
  });

  it('writes into out, overwriting whatever it held (NaN included)', () => {
    const c: RefCase = { batch: 1, inChannels: 16, outChannels: 8, height: 4, width: 4, padding: [1, 1], stride: [2, 2], activation: 'relu' };
    const { input, weight, bias } = build(c, 5);
    const out = Tensor.zeros([1, 8, 3, 3]);
    out.data.fill(Number.NaN);
    const y = conv1x1(input, weight, { ...options(c, bias), out });
    expect(y.data).toBe(out.data);
    expectClose(out.data, referenceConv(c, input.data, weight.data, bias), `${kind} out`);
  });

  it('propagates NaN and Inf like IEEE arithmetic', () => {
    const input = new Tensor(new Float32Array([Number.NaN, 1, 2, 3]), [1, 1, 2, 2]);
    const weight = new Tensor(new Float32Array([2, -1]), [2, 1]);
    const y = conv1x1(input, weight, { activation: 'relu' });
    expect(Number.isNaN(y.data[0])).toBe(true);
    expect(Number.isNaN(y.data[4])).toBe(true);
    expect(Array.from(y.data.subarray(1, 4))).toEqual([2, 4, 6]);
    expect(Array.from(y.data.subarray(5, 8))).toEqual([0, 0, 0]);
  });

  it('gives correctly shaped empty or bias-only results for zero-size dimensions', () => {
    const bias = new Float32Array([0.5, -2]);
    const empty = conv1x1(Tensor.zeros([0, 3, 4, 4]), Tensor.zeros([2, 3]), { bias });
    expect(empty.shape).toEqual([0, 2, 4, 4]);
    expect(empty.data.length).toBe(0);
    const noPixels = conv1x1(Tensor.zeros([2, 3, 0, 5]), Tensor.zeros([2, 3]), { bias });
    expect(noPixels.shape).toEqual([2, 2, 0, 5]);
    // Cin = 0: every output is act(bias); BLAS is never asked for K = 0.
    const noInputs = conv1x1(Tensor.zeros([1, 0, 2, 2]), Tensor.zeros([2, 0]), { bias, activation: 'relu' });
    expect(Array.from(noInputs.data)).toEqual([0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0]);
    // Cout = 0.
    expect(conv1x1(Tensor.zeros([1, 3, 2, 2]), Tensor.zeros([0, 3])).shape).toEqual([1, 0, 2, 2]);
    // Padding around an empty image: all border, all bias.
    const border = conv1x1(Tensor.zeros([1, 3, 0, 0]), Tensor.zeros([2, 3]), { bias, padding: 1 });
    expect(border.shape).toEqual([1, 2, 2, 2]);
    expect(Array.from(border.data)).toEqual([0.5, 0.5, 0.5, 0.5, -2, -2, -2, -2]);
  });

  it('the layer gives the same results as the functional op, NCHW and NHWC', () => {
    for (const layout of ['nchw', 'nhwc'] as const) {
      const c: RefCase = { batch: 2, inChannels: 24, outChannels: 40, height: 6, width: 5, groups: 2, stride: [2, 1], padding: [1, 0], activation: 'silu', layout };
      const { input, weight, bias } = build(c, 31);
      const layer = new Conv1x1({ inChannels: 24, outChannels: 40, weight, bias, groups: 2, stride: [2, 1], padding: [1, 0], activation: 'silu', layout });
      const ref = referenceConv(c, input.data, weight.data, bias);
      const y = layer.forward(input);
      expect(y.shape).toEqual(ref.shape);
      expect(layer.outputShape(input.shape)).toEqual(ref.shape);
      expectClose(y.data, ref, `${kind} layer ${layout}`);
      const out = Tensor.zeros(ref.shape);
      expect(layer.forward(input, out).data).toBe(out.data);
      expectClose(out.data, ref, `${kind} layer out ${layout}`);
    }
  });

  it('copies layer weights at construction: later changes to the array do not leak in', () => {
    const c: RefCase = { batch: 1, inChannels: 4, outChannels: 3, height: 2, width: 2 };
    const { input, weight, bias } = build(c, 3);
    const ref = referenceConv(c, input.data, weight.data, bias);
    const mutable = new Float32Array(weight.data);
    const layer = new Conv1x1({ inChannels: 4, outChannels: 3, weight: { data: mutable, shape: [3, 4] }, bias });
    mutable.fill(100);
    expectClose(layer.forward(input).data, ref, `${kind} weights copied`);
  });
});

afterAll(() => {
  const summary = [...maxErrors].map(([name, err]) => `${name} ${err.toExponential(2)}`).join(', ');
  console.log(`max |error| against the float64 reference: ${summary}`);
});
