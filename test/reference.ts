// The float64 oracle: torch.nn.functional.conv2d with a 1×1 kernel, written as direct loops,
// independent of the library's GEMM formulation. Also seeded data and the tolerance rule.
import { expect } from 'vitest';

export type RefActivation =
  | 'none' | 'relu' | 'relu6' | 'leaky_relu' | 'sigmoid' | 'tanh' | 'silu' | 'gelu' | 'hardswish';

export const ALL_ACTIVATIONS: RefActivation[] = [
  'none', 'relu', 'relu6', 'leaky_relu', 'sigmoid', 'tanh', 'silu', 'gelu', 'hardswish',
];

export interface RefCase {
  batch: number;
  inChannels: number;
  outChannels: number;
  height: number;
  width: number;
  stride?: [number, number];
  padding?: [number, number];
  groups?: number;
  activation?: RefActivation;
  negativeSlope?: number;
  layout?: 'nchw' | 'nhwc';
}

// Abramowitz–Stegun 7.1.26 is too coarse for a float64 oracle; this series/continued-fraction pair
// is accurate to ~1e-15.
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x, sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) by its continued fraction (Lentz), for |x| ≥ 2.5.
  let f = ax, c = ax, d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = ax + an / c;
    if (c === 0) c = 1e-300;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  return Math.sign(x) * (1 - erfc);
}

export function activate(x: number, activation: RefActivation, slope = 0.01): number {
  switch (activation) {
    case 'none': return x;
    case 'relu': return Number.isNaN(x) ? x : Math.max(x, 0);
    case 'relu6': return Number.isNaN(x) ? x : Math.min(Math.max(x, 0), 6);
    case 'leaky_relu': return x < 0 ? x * slope : x;
    case 'sigmoid': return 1 / (1 + Math.exp(-x));
    case 'tanh': return Math.tanh(x);
    case 'silu': return x / (1 + Math.exp(-x));
    case 'gelu': return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'hardswish': return (x * Math.min(Math.max(x + 3, 0), 6)) / 6;
  }
}

export interface RefResult {
  data: Float64Array;
  /** Per output: Σ|x·w| + |bias|, the scale of its rounding error. */
  magnitude: Float64Array;
  shape: number[];
  k: number;
}

/** Direct evaluation in float64. weight is [Cout][Cin/groups]; bias may be null. */
export function referenceConv(
  c: RefCase,
  input: Float32Array,
  weight: Float32Array,
  bias: Float32Array | null,
): RefResult {
  const [sh, sw] = c.stride ?? [1, 1];
  const [ph, pw] = c.padding ?? [0, 0];
  const groups = c.groups ?? 1;
  const act = c.activation ?? 'none';
  const nhwc = c.layout === 'nhwc';
  const cinG = c.inChannels / groups, coutG = c.outChannels / groups;
  const oh = c.height + 2 * ph === 0 ? 0 : Math.floor((c.height + 2 * ph - 1) / sh) + 1;
  const ow = c.width + 2 * pw === 0 ? 0 : Math.floor((c.width + 2 * pw - 1) / sw) + 1;
  const total = c.batch * c.outChannels * oh * ow;
  const data = new Float64Array(total), magnitude = new Float64Array(total);
  const inIndex = (n: number, ch: number, y: number, x: number) =>
    nhwc ? ((n * c.height + y) * c.width + x) * c.inChannels + ch
         : ((n * c.inChannels + ch) * c.height + y) * c.width + x;
  const outIndex = (n: number, ch: number, y: number, x: number) =>
    nhwc ? ((n * oh + y) * ow + x) * c.outChannels + ch
         : ((n * c.outChannels + ch) * oh + y) * ow + x;
  for (let n = 0; n < c.batch; n++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const iy = y * sh - ph, ix = x * sw - pw;
        const inside = iy >= 0 && iy < c.height && ix >= 0 && ix < c.width;
        for (let co = 0; co < c.outChannels; co++) {
          const g = Math.floor(co / coutG);
          let sum = bias ? bias[co] : 0;
          let mag = bias ? Math.abs(bias[co]) : 0;
          if (inside) {
            for (let ci = 0; ci < cinG; ci++) {
              const p = input[inIndex(n, g * cinG + ci, iy, ix)] * weight[co * cinG + ci];
              sum += p;
              mag += Math.abs(p);
            }
          }
          const o = outIndex(n, co, y, x);
          data[o] = activate(sum, act, c.negativeSlope ?? 0.01);
          magnitude[o] = mag;
        }
      }
    }
  }
  const shape = nhwc ? [c.batch, oh, ow, c.outChannels] : [c.batch, c.outChannels, oh, ow];
  return { data, magnitude, shape, k: cinG };
}

// Depthwise 2-D convolution (groups = channels), NCHW, as torch.nn.functional.conv2d computes it.
export interface DepthwiseCase {
  batch: number;
  channels: number;
  height: number;
  width: number;
  kernel: [number, number];
  stride?: [number, number];
  padding?: [number, number];
  dilation?: [number, number];
  activation?: RefActivation;
  negativeSlope?: number;
}

/** PyTorch's output extent, or null where conv2d raises (the padded input is smaller than the kernel). */
export function depthwiseExtent(size: number, kernel: number, stride: number, pad: number, dilation: number): number | null {
  const span = size + 2 * pad - dilation * (kernel - 1) - 1;
  return span < 0 ? null : Math.floor(span / stride) + 1;
}

export function referenceDepthwise(c: DepthwiseCase, input: Float32Array, weight: Float32Array, bias: Float32Array | null): RefResult {
  const [kh, kw] = c.kernel;
  const [sh, sw] = c.stride ?? [1, 1];
  const [ph, pw] = c.padding ?? [0, 0];
  const [dh, dw] = c.dilation ?? [1, 1];
  const oh = depthwiseExtent(c.height, kh, sh, ph, dh)!;
  const ow = depthwiseExtent(c.width, kw, sw, pw, dw)!;
  const total = c.batch * c.channels * oh * ow;
  const data = new Float64Array(total), magnitude = new Float64Array(total);
  let o = 0;
  for (let n = 0; n < c.batch; n++) {
    for (let ch = 0; ch < c.channels; ch++) {
      for (let y = 0; y < oh; y++) {
        for (let x = 0; x < ow; x++, o++) {
          let sum = bias ? bias[ch] : 0;
          let mag = bias ? Math.abs(bias[ch]) : 0;
          for (let i = 0; i < kh; i++) {
            for (let j = 0; j < kw; j++) {
              const iy = y * sh - ph + i * dh, ix = x * sw - pw + j * dw;
              if (iy < 0 || iy >= c.height || ix < 0 || ix >= c.width) continue;  // zero padding
              const p = input[((n * c.channels + ch) * c.height + iy) * c.width + ix] * weight[(ch * kh + i) * kw + j];
              sum += p;
              mag += Math.abs(p);
            }
          }
          data[o] = activate(sum, c.activation ?? 'none', c.negativeSlope ?? 0.01);
          magnitude[o] = mag;
        }
      }
    }
  }
  return { data, magnitude, shape: [c.batch, c.channels, oh, ow], k: kh * kw };
}

/** Deterministic data in [-1, 1) (mulberry32). */
export function seededFloats(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

const EPS32 = 2 ** -23;

/**
 * float32 accumulation of K products errs by at most ~K·ε·Σ|x·w|; activations have slopes ≤ 1.5 and
 * their float32 evaluation adds a few ulps of the result.
 */
export function tolerance(k: number, magnitude: number, reference: number): number {
  return 1.5 * (k + 2) * EPS32 * magnitude + 8 * EPS32 * Math.abs(reference) + 1e-7;
}

/** Largest |got − ref| / tolerance over all elements; fails the test above 1. */
export function expectClose(got: Float32Array, ref: RefResult, label: string): number {
  expect(got.length, `${label}: length`).toBe(ref.data.length);
  let worst = 0, worstIndex = -1, maxAbs = 0;
  for (let i = 0; i < got.length; i++) {
    const r = ref.data[i], g = got[i];
    if (Number.isNaN(r) || Number.isNaN(g)) {
      if (Number.isNaN(r) !== Number.isNaN(g)) { worst = Infinity; worstIndex = i; break; }
      continue;
    }
    const err = Math.abs(g - r);
    maxAbs = Math.max(maxAbs, err);
    const ratio = err / tolerance(ref.k, ref.magnitude[i], r);
    if (ratio > worst) { worst = ratio; worstIndex = i; }
  }
  if (worst > 1) {
    expect.fail(`${label}: element ${worstIndex} is ${got[worstIndex]} but the reference is ` +
      `${ref.data[worstIndex]} (error ${worst.toFixed(2)}× the tolerance)`);
  }
  recordError(maxAbs);
  return maxAbs;
}

// The largest absolute error seen in this file's run, per backend (reported by the numerics tests).
let currentBackend = 'unknown';
export const maxErrors = new Map<string, number>();
export function setCurrentBackend(name: string) { currentBackend = name; }
function recordError(err: number) {
  maxErrors.set(currentBackend, Math.max(maxErrors.get(currentBackend) ?? 0, err));
}
