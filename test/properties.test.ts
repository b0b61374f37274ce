// Property-based tests (fast-check, fixed seeds so that a failure reproduces): random convolutions
// against the float64 reference on every backend; the algebra a convolution must obey (linearity,
// batch independence, zero weights); and arbitrary, mostly wrong arguments, which must give either a
// result of the right shape or one of the documented errors: never another error, never a crash.
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';

import { conv1x1, conv1x1Async, Conv1x1, Conv1x1Error, ErrorCodes, Tensor } from '../lib/index';
import { BACKENDS, onBackend } from './backends';
import {
  activate,
  ALL_ACTIVATIONS,
  expectClose,
  referenceConv,
  tolerance,
  type RefActivation,
  type RefCase,
} from './reference';

// --- random valid convolutions ------------------------------------------------------------------------

interface ConvCase {
  c: RefCase;
  input: Float32Array;
  weight: Float32Array;
  bias: Float32Array | null;
  /** PyTorch's [Cout, Cin/g, 1, 1] instead of [Cout, Cin/g]. */
  weight4d: boolean;
  /** Pass a NaN-filled `out` to the sync call instead of letting it allocate. */
  useOut: boolean;
}

// Bounded so that float32 sums of up to 20 products stay far from overflow; -0 and subnormals included.
const floats = (length: number) =>
  fc.float32Array({ minLength: length, maxLength: length, noNaN: true, noDefaultInfinity: true, min: -4, max: 4 });

const inputShapeOf = (c: RefCase) =>
  c.layout === 'nhwc' ? [c.batch, c.height, c.width, c.inChannels] : [c.batch, c.inChannels, c.height, c.width];
const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

interface CaseLimits {
  activations?: readonly RefActivation[];
  bias?: boolean;
  batch?: { min: number; max: number };
}

/** Groups first, then channels per group, so that groups always divide Cin and Cout (both 0–20). */
function convConfig(limits: CaseLimits = {}): fc.Arbitrary<RefCase> {
  return fc.integer({ min: 1, max: 4 }).chain((groups) =>
    fc.record({
      batch: fc.integer(limits.batch ?? { min: 0, max: 3 }),
      inChannels: fc.integer({ min: 0, max: Math.floor(20 / groups) }).map((k) => k * groups),
      outChannels: fc.integer({ min: 0, max: Math.floor(20 / groups) }).map((k) => k * groups),
      height: fc.integer({ min: 0, max: 9 }),
      width: fc.integer({ min: 0, max: 9 }),
      stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      padding: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
      groups: fc.constant(groups),
      activation: fc.constantFrom(...(limits.activations ?? ALL_ACTIVATIONS)),
      // Any finite slope within the 1.5 that the tolerance rule assumes for an activation's slope.
      negativeSlope: fc.double({ min: -1.5, max: 1.5, noNaN: true }),
      layout: fc.constantFrom('nchw' as const, 'nhwc' as const),
    }),
  );
}

function convCase(limits: CaseLimits = {}): fc.Arbitrary<ConvCase> {
  return convConfig(limits).chain((c) =>
    fc.record({
      c: fc.constant(c),
      input: floats(count(inputShapeOf(c))),
      weight: floats(c.outChannels * (c.inChannels / c.groups!)),
      bias: limits.bias === false ? fc.constant(null) : fc.option(floats(c.outChannels), { nil: null }),
      weight4d: fc.boolean(),
      useOut: fc.boolean(),
    }),
  );
}

function weightOf(k: ConvCase) {
  const cinG = k.c.inChannels / k.c.groups!;
  return { data: k.weight, shape: k.weight4d ? [k.c.outChannels, cinG, 1, 1] : [k.c.outChannels, cinG] };
}

function optionsOf(k: ConvCase) {
  return {
    bias: k.bias,
    stride: k.c.stride,
    padding: k.c.padding,
    groups: k.c.groups,
    activation: k.c.activation,
    negativeSlope: k.c.negativeSlope,
    layout: k.c.layout,
  };
}

const run = (k: ConvCase, input = k.input) =>
  conv1x1({ data: input, shape: inputShapeOf(k.c) }, weightOf(k), optionsOf(k));

const label = (k: ConvCase) => JSON.stringify({ ...k.c, bias: k.bias !== null, weight4d: k.weight4d });

describe.each(BACKENDS)('random convolutions on %s', (kind) => {
  beforeEach(() => onBackend(kind));

  it('conv1x1, conv1x1Async and Conv1x1.forward agree with the float64 reference', async () => {
    await fc.assert(
      fc.asyncProperty(convCase(), async (k) => {
        const ref = referenceConv(k.c, k.input, k.weight, k.bias);
        const input = { data: k.input, shape: inputShapeOf(k.c) };
        const out = k.useOut ? new Tensor(new Float32Array(count(ref.shape)).fill(Number.NaN), ref.shape) : undefined;

        const y = conv1x1(input, weightOf(k), { ...optionsOf(k), out });
        expect(y.shape).toEqual(ref.shape);
        if (out) expect(y.data).toBe(out.data);
        expectClose(y.data, ref, `${kind} sync ${label(k)}`);

        const z = await conv1x1Async(input, weightOf(k), optionsOf(k));
        expect(z.shape).toEqual(ref.shape);
        expectClose(z.data, ref, `${kind} async ${label(k)}`);

        const layer = new Conv1x1({
          inChannels: k.c.inChannels,
          outChannels: k.c.outChannels,
          weight: weightOf(k),
          ...optionsOf(k),
        });
        expect(layer.outputShape(input.shape)).toEqual(ref.shape);
        const f = layer.forward(input);
        expect(f.shape).toEqual(ref.shape);
        expectClose(f.data, ref, `${kind} layer ${label(k)}`);
        expectClose((await layer.forwardAsync(input)).data, ref, `${kind} layer async ${label(k)}`);
      }),
      { seed: 0x1c0471, numRuns: 800 },
    );
  });
});

// --- algebra ------------------------------------------------------------------------------------------

describe.each(BACKENDS)('convolution algebra on %s', (kind) => {
  beforeEach(() => onBackend(kind));

  it('is linear: conv(a·x + b·y) ≈ a·conv(x) + b·conv(y) (no bias, no activation)', () => {
    const arb = convCase({ activations: ['none'], bias: false }).chain((k) =>
      fc.record({
        k: fc.constant(k),
        y: floats(k.input.length),
        a: fc.double({ min: -3, max: 3, noNaN: true }),
        b: fc.double({ min: -3, max: 3, noNaN: true }),
      }),
    );
    fc.assert(
      fc.property(arb, ({ k, y, a, b }) => {
        const mixed = new Float32Array(k.input.length);
        for (let i = 0; i < mixed.length; i++) mixed[i] = a * k.input[i] + b * y[i];
        const cx = run(k).data, cy = run(k, y).data, cm = run(k, mixed).data;
        const rx = referenceConv(k.c, k.input, k.weight, null);
        const ry = referenceConv(k.c, y, k.weight, null);
        const rm = referenceConv(k.c, mixed, k.weight, null);
        expect(cm.length).toBe(rx.data.length);
        for (let i = 0; i < cm.length; i++) {
          // Each conv errs by its own K-scaled tolerance, and rounding a·x + b·y to float32 adds
          // at most half an ulp of each term, carried through the weights.
          const allowed =
            tolerance(rm.k, rm.magnitude[i], rm.data[i]) +
            Math.abs(a) * tolerance(rx.k, rx.magnitude[i], rx.data[i]) +
            Math.abs(b) * tolerance(ry.k, ry.magnitude[i], ry.data[i]) +
            2 ** -24 * (Math.abs(a) * rx.magnitude[i] + Math.abs(b) * ry.magnitude[i]);
          const err = Math.abs(cm[i] - (a * cx[i] + b * cy[i]));
          if (!(err <= allowed)) {
            expect.fail(`${kind} ${label(k)} a=${a} b=${b}: element ${i} is ${cm[i]} but a·conv(x) + b·conv(y) is ` +
              `${a * cx[i] + b * cy[i]} (error ${err}, allowed ${allowed})`);
          }
        }
      }),
      { seed: 0x11ea7, numRuns: 500 },
    );
  });

  it('is batch-independent: conv of two batches concatenated is the two convs concatenated', () => {
    const arb = convCase({ batch: { min: 0, max: 2 } }).chain((k) =>
      fc.record({
        k: fc.constant(k),
        second: floats(2 * count(inputShapeOf({ ...k.c, batch: 1 }))),
        secondBatch: fc.integer({ min: 0, max: 2 }),
      }),
    );
    fc.assert(
      fc.property(arb, ({ k, second: secondData, secondBatch }) => {
        const perImage = count(inputShapeOf({ ...k.c, batch: 1 }));
        const first = k.input;
        const second = secondData.subarray(0, perImage * secondBatch);
        const both = new Float32Array(first.length + second.length);
        both.set(first);
        both.set(second, first.length);
        const opts = optionsOf(k);
        const shape = (batch: number) => inputShapeOf({ ...k.c, batch });
        const y1 = conv1x1({ data: first, shape: shape(k.c.batch) }, weightOf(k), opts);
        const y2 = conv1x1({ data: second, shape: shape(secondBatch) }, weightOf(k), opts);
        const y = conv1x1({ data: both, shape: shape(k.c.batch + secondBatch) }, weightOf(k), opts);
        expect(y.shape[0]).toBe(k.c.batch + secondBatch);
        expect(y.data.length).toBe(y1.data.length + y2.data.length);
        // The two sides may be cut into different tiles, so each may err by the tolerance.
        const ref = referenceConv({ ...k.c, batch: k.c.batch + secondBatch }, both, k.weight, k.bias);
        for (let i = 0; i < y.data.length; i++) {
          const parts = i < y1.data.length ? y1.data[i] : y2.data[i - y1.data.length];
          const allowed = 2 * tolerance(ref.k, ref.magnitude[i], ref.data[i]);
          if (!(Math.abs(y.data[i] - parts) <= allowed)) {
            expect.fail(`${kind} ${label(k)} + batch ${secondBatch}: element ${i} is ${y.data[i]} in the ` +
              `concatenated call but ${parts} in the separate ones (allowed ${allowed})`);
          }
        }
      }),
      { seed: 0xba7c4, numRuns: 500 },
    );
  });

  it('with zero weights, every output is act(bias), interior and padding border alike', () => {
    const arb = convCase().chain((k) => fc.record({ k: fc.constant(k), zeroBias: fc.boolean() }));
    fc.assert(
      fc.property(arb, ({ k, zeroBias }) => {
        const zero: ConvCase = { ...k, weight: new Float32Array(k.weight.length), bias: zeroBias ? null : k.bias };
        const y = conv1x1({ data: k.input, shape: inputShapeOf(k.c) }, weightOf(zero), optionsOf(zero));
        const nhwc = k.c.layout === 'nhwc';
        const [, d1, d2, d3] = y.shape;
        const pixels = nhwc ? d1 * d2 : d2 * d3;
        const act = k.c.activation!;
        // Per channel, one value: the kernel's epilogue and the padding fill must agree bit for bit.
        // Where act is exact in float32 it must be fround(act(bias)); elsewhere within a few ulps.
        const exact = act === 'none' || act === 'relu' || act === 'relu6';
        for (let co = 0; co < k.c.outChannels; co++) {
          const b = zero.bias ? zero.bias[co] : 0;
          const want = activate(b, act, k.c.negativeSlope);
          let first: number | undefined;
          for (let p = 0; p < y.data.length / Math.max(1, k.c.outChannels); p++) {
            const n = Math.floor(p / Math.max(1, pixels)), q = p % Math.max(1, pixels);
            const index = nhwc ? (n * pixels + q) * k.c.outChannels + co : (n * k.c.outChannels + co) * pixels + q;
            const got = y.data[index];
            first ??= got;
            const ok = exact ? got === Math.fround(want) : got === first && Math.abs(got - want) <= tolerance(0, 0, want);
            if (!ok) {
              expect.fail(`${kind} ${label(zero)}: channel ${co} element ${index} is ${got} but act(bias ${b}) ` +
                `is ${want}${exact ? '' : ` and the first output of that channel is ${first}`}`);
            }
          }
        }
      }),
      { seed: 0x2e80, numRuns: 500 },
    );
  });
});

// --- arbitrary arguments ------------------------------------------------------------------------------

const MAX_DIMENSION = 2 ** 31 - 1;
const MAX_ELEMENTS = 2 ** 32;
const KNOWN_OPTIONS = ['bias', 'stride', 'padding', 'groups', 'activation', 'negativeSlope', 'layout', 'out'];
const ERROR_CODES = new Set<string>(Object.values(ErrorCodes));

/**
 * The documented contract, written independently of lib/: the output shape when the arguments are
 * valid, or null when the call must fail.
 */
function expectedOutputShape(input: unknown, weight: unknown, options: unknown): number[] | null {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);
  const isDetached = (a: Float32Array) => {
    try {
      new Uint8Array(a.buffer);
      return false;
    } catch {
      return true;
    }
  };
  const isInteger = (v: unknown, min: number): v is number =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= MAX_DIMENSION;
  const tensor = (v: unknown, ranks: number[]): { data: Float32Array; shape: number[] } | null => {
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return null;
    const { data, shape } = v as { data?: unknown; shape?: unknown };
    if (!(data instanceof Float32Array) || !Array.isArray(shape) || !ranks.includes(shape.length)) return null;
    let elements = 1;
    for (let i = 0; i < shape.length; i++) {
      if (!isInteger(shape[i], 0)) return null;
      elements *= shape[i] as number;
    }
    if (elements > MAX_ELEMENTS || isDetached(data) || data.length !== elements) return null;
    return { data, shape: shape as number[] };
  };
  const pair = (v: unknown, min: number, fallback: number): [number, number] | null => {
    if (v === undefined) return [fallback, fallback];
    if (Array.isArray(v)) return v.length === 2 && isInteger(v[0], min) && isInteger(v[1], min) ? [v[0], v[1]] : null;
    return isInteger(v, min) ? [v, v] : null;
  };

  if (options !== undefined && !isObject(options)) return null;
  const opts: Record<string, unknown> = options ?? {};
  if (Object.keys(opts).some((key) => !KNOWN_OPTIONS.includes(key))) return null;
  const stride = pair(opts.stride, 1, 1), padding = pair(opts.padding, 0, 0);
  // Only undefined means "the default": null is a value of the wrong type (except for bias and out).
  const groups = opts.groups === undefined ? 1 : opts.groups;
  const layout = opts.layout === undefined ? 'nchw' : opts.layout;
  if (!stride || !padding || !isInteger(groups, 1) || (layout !== 'nchw' && layout !== 'nhwc')) return null;
  if (opts.activation !== undefined && !(ALL_ACTIVATIONS as unknown[]).includes(opts.activation)) return null;
  if (opts.negativeSlope !== undefined && !(typeof opts.negativeSlope === 'number' && Number.isFinite(opts.negativeSlope))) return null;

  const w = tensor(weight, [2, 4]);
  if (!w || (w.shape.length === 4 && (w.shape[2] !== 1 || w.shape[3] !== 1))) return null;
  const [outChannels, inPerGroup] = w.shape;
  if (outChannels % groups !== 0) return null;
  const x = tensor(input, [4]);
  if (!x) return null;
  const [batch, d1, d2, d3] = x.shape;
  const [channels, height, width] = layout === 'nchw' ? [d1, d2, d3] : [d3, d1, d2];
  if (channels !== inPerGroup * groups) return null;
  const extent = (size: number, pad: number, step: number) => (size + 2 * pad === 0 ? 0 : Math.floor((size + 2 * pad - 1) / step) + 1);
  const oh = extent(height, padding[0], stride[0]), ow = extent(width, padding[1], stride[1]);
  // `+ 0` turns a -0 dimension (a valid 0) into 0: shapes are compared with Object.is.
  const shape = (layout === 'nchw' ? [batch, outChannels, oh, ow] : [batch, oh, ow, outChannels]).map((d) => d + 0);
  if (batch * outChannels * oh * ow > MAX_ELEMENTS) return null;

  let bias: Float32Array | null = null;
  if (opts.bias !== undefined && opts.bias !== null) {
    const b = opts.bias instanceof Float32Array ? tensor({ data: opts.bias, shape: [opts.bias.length] }, [1]) : tensor(opts.bias, [1]);
    if (!b || b.data.length !== outChannels) return null;
    bias = b.data;
  }
  if (opts.out !== undefined && opts.out !== null) {
    const out = tensor(opts.out, [shape.length]);
    if (!out || out.shape.some((d, i) => d !== shape[i])) return null;
    const buffer = out.data.buffer as ArrayBufferLike & { resizable?: boolean };
    if (buffer instanceof SharedArrayBuffer || buffer.resizable) return null;
    const overlaps = (other: Float32Array | null) =>
      other !== null && other.buffer === out.data.buffer && other.length > 0 && out.data.length > 0 &&
      other.byteOffset < out.data.byteOffset + out.data.byteLength && out.data.byteOffset < other.byteOffset + other.byteLength;
    if (overlaps(x.data) || overlaps(w.data) || overlaps(bias)) return null;
  }
  return shape;
}

// Float32Arrays are views 3 floats into a larger zeroed buffer, so that an `out` can be placed over them.
const VIEW_SLACK = 4096;
function view(length: number): Float32Array {
  return new Float32Array(length + VIEW_SLACK).subarray(3, 3 + length);
}
function detached(length: number): Float32Array {
  const data = new Float32Array(length);
  structuredClone(data.buffer, { transfer: [data.buffer] });
  return data;
}
function shared(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(4 * length));
}

const badDim = fc.constantFrom<unknown>(-1, Number.NaN, 2.5, Number.POSITIVE_INFINITY, 2 ** 31, 2 ** 40, '2', null, undefined, -0);

/** Data for a tensor of `elements` elements: mostly right, sometimes of the wrong kind or length. */
function dataFor(elements: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 40, arbitrary: fc.constant(null).map(() => view(elements)) },
    { weight: 1, arbitrary: fc.constantFrom(-1, 1).map((d) => view(Math.max(0, elements + d))) },
    { weight: 1, arbitrary: fc.constant(null).map(() => shared(elements)) },
    { weight: 1, arbitrary: fc.constant(null).map(() => detached(elements)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>('data', 3, null, undefined, [1, 2, 3]).chain((v) =>
        fc.constantFrom<unknown>(v, new Float64Array(elements), new Uint8Array(4 * elements), Array.from({ length: elements }, () => 0)),
      ),
    },
  );
}

/** A shape: mostly `shape`, sometimes with a bad dimension, a changed one, or the wrong rank. */
function shapeFor(shape: number[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 40, arbitrary: fc.constant(shape) },
    { weight: 1, arbitrary: fc.tuple(fc.nat({ max: Math.max(0, shape.length - 1) }), badDim).map(([i, d]) => shape.map((v, j) => (j === i ? d : v))) },
    { weight: 1, arbitrary: fc.tuple(fc.nat({ max: Math.max(0, shape.length - 1) }), fc.integer({ min: 0, max: 3 })).map(([i, d]) => shape.map((v, j) => (j === i ? d : v))) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(shape.slice(1), [...shape, 1], [], '2,4,3,3', null, new Int32Array(shape)) },
  );
}

/** A { data, shape } (sometimes a Tensor) for `shape`, with either part possibly wrong, or not a tensor at all. */
function tensorFor(shape: number[]): fc.Arbitrary<unknown> {
  const elements = count(shape);
  return fc.oneof(
    { weight: 30, arbitrary: fc.record({ data: dataFor(elements), shape: shapeFor(shape) }) },
    { weight: 10, arbitrary: fc.constant(null).map(() => new Tensor(view(elements), shape)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>(null, undefined, 'tensor', 42, [1, 2], { data: null }, { shape }).chain((v) =>
        fc.constantFrom<unknown>(v, view(elements), new Float64Array(elements), new Uint8Array(elements)),
      ),
    },
  );
}

/** An option value: absent (undefined), a good value, or a bad one. */
function optionValue<T>(good: fc.Arbitrary<T>, bad: readonly unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    { weight: 8, arbitrary: good },
    { weight: 1, arbitrary: fc.constantFrom(...bad) },
  );
}

type OutKind = 'none' | 'right' | 'wrongShape' | 'bareArray' | 'shared' | 'detached' | 'overInput' | 'overWeight' | 'overBias';

interface Arguments {
  input: unknown;
  weight: unknown;
  options: unknown;
}

const arbitraryArguments: fc.Arbitrary<Arguments> = fc
  .record({
    groups: fc.integer({ min: 1, max: 3 }),
    inPerGroup: fc.integer({ min: 0, max: 3 }),
    outPerGroup: fc.integer({ min: 0, max: 3 }),
    batch: fc.integer({ min: 0, max: 2 }),
    height: fc.integer({ min: 0, max: 4 }),
    width: fc.integer({ min: 0, max: 4 }),
    layout: fc.constantFrom('nchw' as const, 'nhwc' as const),
    weight4d: fc.boolean(),
  })
  .chain((base) => {
    const cin = base.groups * base.inPerGroup, cout = base.groups * base.outPerGroup;
    const inputShape = base.layout === 'nchw' ? [base.batch, cin, base.height, base.width] : [base.batch, base.height, base.width, cin];
    const weightShape = base.weight4d ? [cout, base.inPerGroup, 1, 1] : [cout, base.inPerGroup];
    const smallPair = fc.oneof(fc.integer({ min: 0, max: 2 }), fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })));
    const stridePair = fc.oneof(fc.integer({ min: 1, max: 3 }), fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })));
    return fc.record({
      input: tensorFor(inputShape),
      weight: fc.oneof(
        { weight: 30, arbitrary: tensorFor(weightShape) },
        { weight: 1, arbitrary: fc.constant(null).map(() => ({ data: view(cout * base.inPerGroup * 9), shape: [cout, base.inPerGroup, 3, 3] })) },
        { weight: 1, arbitrary: fc.constant(null).map(() => ({ data: view(cout * base.inPerGroup), shape: [cout, base.inPerGroup, 1] })) },
      ),
      stride: optionValue(stridePair, [0, -1, 1.5, '2', null, Number.NaN, [1], [0, 1], [1, 2, 3], 2 ** 31]),
      // 2^17 makes the output too large whenever it is not empty.
      padding: optionValue(smallPair, [-1, 1.5, '1', null, Number.NaN, [1], [1, -1], 2 ** 17, 2 ** 31]),
      groups: optionValue(fc.constant(base.groups), [0, -1, 2, 3, 4, 1.5, '1', null]),
      activation: optionValue(fc.constantFrom(...ALL_ACTIVATIONS), ['relux', 'ReLU', '', 3, null, ['relu']]),
      negativeSlope: optionValue(fc.double({ min: -10, max: 10, noNaN: true }), [Number.NaN, Number.POSITIVE_INFINITY, '0.1', null]),
      layout: optionValue(fc.constant(base.layout), [base.layout === 'nchw' ? 'nhwc' : 'nchw', 'NCHW', 'chw', 1, null]),
      bias: fc.oneof(
        { weight: 10, arbitrary: fc.constant(undefined) },
        { weight: 3, arbitrary: fc.constant(null) },
        { weight: 8, arbitrary: fc.constant(null).map(() => view(cout)) },
        { weight: 4, arbitrary: tensorFor([cout]) },
        { weight: 1, arbitrary: fc.constantFrom(-1, 1).map((d) => view(Math.max(0, cout + d))) },
        { weight: 1, arbitrary: fc.constantFrom<unknown>('bias', 0, new Float64Array(cout), Array.from({ length: cout }, () => 0)) },
        { weight: 1, arbitrary: fc.constant(null).map(() => detached(cout)) },
        { weight: 1, arbitrary: fc.constant(null).map(() => ({ data: view(cout), shape: [1, cout] })) },
      ),
      out: fc.constantFrom<OutKind>('none', 'none', 'none', 'none', 'right', 'right', 'right', 'wrongShape', 'bareArray', 'shared', 'detached', 'overInput', 'overWeight', 'overBias'),
      extraKey: fc.oneof(
        { weight: 20, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constantFrom('group', 'Stride', 'kernelSize', 'paddings', 'act', '__proto__x') },
      ),
      wholeOptions: fc.oneof(
        { weight: 40, arbitrary: fc.constant('object') },
        { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, 'relu', 3, [1], new Float32Array(2)) },
      ),
    });
  })
  .map((a) => {
    const options: Record<string, unknown> = {};
    for (const key of ['stride', 'padding', 'groups', 'activation', 'negativeSlope', 'layout', 'bias'] as const) {
      if (a[key] !== undefined) options[key] = a[key];
    }
    if (a.extraKey !== undefined) options[a.extraKey] = 1;
    // `out` depends on the output shape, which the rest determines (a plausible shape when invalid).
    const shape = expectedOutputShape(a.input, a.weight, options) ?? [1, 1, 1, 1];
    const elements = count(shape);
    const over = (operand: unknown): Float32Array => {
      const data = operand instanceof Float32Array ? operand : (operand as { data?: unknown } | null)?.data;
      if (data instanceof Float32Array && data.buffer.byteLength >= data.byteOffset + 4 * elements && !(data.buffer instanceof SharedArrayBuffer)) {
        return new Float32Array(data.buffer, data.byteOffset, elements);
      }
      return view(elements);
    };
    switch (a.out) {
      case 'none': break;
      case 'right': options.out = { data: view(elements), shape }; break;
      case 'wrongShape': options.out = { data: view(elements + 1), shape: [shape[0], shape[1], shape[2], shape[3] + 1] }; break;
      case 'bareArray': options.out = view(elements); break;
      case 'shared': options.out = { data: shared(elements), shape }; break;
      case 'detached': options.out = { data: detached(elements), shape }; break;
      case 'overInput': options.out = { data: over(a.input), shape }; break;
      case 'overWeight': options.out = { data: over(a.weight), shape }; break;
      case 'overBias': options.out = { data: over(a.bias), shape }; break;
    }
    return { input: a.input, weight: a.weight, options: a.wholeOptions === 'object' ? options : a.wholeOptions };
  });

function expectDocumentedError(error: unknown, what: string): void {
  const ok =
    (error instanceof TypeError || error instanceof RangeError || error instanceof Conv1x1Error) &&
    ERROR_CODES.has((error as { code?: unknown }).code as string);
  if (!ok) expect.fail(`${what} threw an undocumented error: ${String(error)} (code ${(error as { code?: unknown })?.code})`);
}

describe.each(BACKENDS)('arbitrary arguments on %s', (kind) => {
  beforeEach(() => onBackend(kind));

  it('conv1x1 returns the documented output shape or throws a documented error', () => {
    const outcomes = { ok: 0, failed: 0 };
    fc.assert(
      fc.property(arbitraryArguments, ({ input, weight, options }) => {
        const expected = expectedOutputShape(input, weight, options);
        let result: Tensor | undefined;
        try {
          result = conv1x1(input as Tensor, weight as Tensor, options as object);
        } catch (error) {
          expectDocumentedError(error, 'conv1x1');
          outcomes.failed++;
          if (expected) expect.fail(`conv1x1 rejected valid arguments (output ${JSON.stringify(expected)}): ${String(error)}`);
          return;
        }
        outcomes.ok++;
        if (!expected) expect.fail(`conv1x1 accepted invalid arguments and returned shape ${JSON.stringify(result.shape)}`);
        expect(result).toBeInstanceOf(Tensor);
        expect(result.shape.map((d) => d + 0)).toEqual(expected);
        expect(result.data.length).toBe(count(expected));
        const out = (options as { out?: { data: Float32Array } } | undefined)?.out;
        if (out) expect(result.data).toBe(out.data);
      }),
      { seed: 0xa4b17, numRuns: 10_000 },
    );
    // Both branches must be exercised for the property to mean anything.
    expect(outcomes.ok).toBeGreaterThan(1000);
    expect(outcomes.failed).toBeGreaterThan(1000);
  });

  it('conv1x1Async never throws synchronously, and resolves with the shape or rejects with a documented error', async () => {
    const outcomes = { ok: 0, failed: 0 };
    await fc.assert(
      fc.asyncProperty(arbitraryArguments, async ({ input, weight, options }) => {
        const expected = expectedOutputShape(input, weight, options);
        let promise: Promise<Tensor> | undefined;
        try {
          promise = conv1x1Async(input as Tensor, weight as Tensor, options as object);
        } catch (error) {
          expect.fail(`conv1x1Async threw synchronously: ${String(error)}`);
        }
        expect(promise).toBeInstanceOf(Promise);
        let result: Tensor | undefined;
        try {
          result = await promise!;
        } catch (error) {
          expectDocumentedError(error, 'conv1x1Async');
          outcomes.failed++;
          if (expected) expect.fail(`conv1x1Async rejected valid arguments (output ${JSON.stringify(expected)}): ${String(error)}`);
          return;
        }
        outcomes.ok++;
        if (!expected) expect.fail(`conv1x1Async accepted invalid arguments and resolved with shape ${JSON.stringify(result.shape)}`);
        expect(result.shape.map((d) => d + 0)).toEqual(expected);
        expect(result.data.length).toBe(count(expected));
        const out = (options as { out?: { data: Float32Array } } | undefined)?.out;
        if (out) expect(result.data).toBe(out.data);
      }),
      { seed: 0xa5c17, numRuns: 3000 },
    );
    expect(outcomes.ok).toBeGreaterThan(300);
    expect(outcomes.failed).toBeGreaterThan(300);
  });
});
