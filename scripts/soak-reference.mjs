// Float64 reference for single output elements of the soak's calls: cheap enough to check a few
// elements of a sampled result without computing the whole convolution again.

export function random(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; out[i] = (s / 2 ** 32) * 2 - 1; }
  return out;
}

// mulberry32: deterministic choice of call kinds and sampled elements.
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

// Abramowitz & Stegun 7.1.26, |error| < 1.5e-7: far below the tolerance of the checks.
function erf(x) {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x < 0 ? -y : y;
}

export function activate(v, activation, slope = 0.01) {
  switch (activation) {
    case 'none': return v;
    case 'relu': return Math.max(v, 0);
    case 'relu6': return Math.min(Math.max(v, 0), 6);
    case 'leaky_relu': return v < 0 ? slope * v : v;
    case 'sigmoid': return 1 / (1 + Math.exp(-v));
    case 'tanh': return Math.tanh(v);
    case 'silu': return v / (1 + Math.exp(-v));
    case 'gelu': return 0.5 * v * (1 + erf(v / Math.SQRT2));
    case 'hardswish': return (v * Math.min(Math.max(v + 3, 0), 6)) / 6;
    default: throw new Error(`no reference for activation ${activation}`);
  }
}

export const outSize = (size, pad, stride, extent = 1) => Math.floor((size + 2 * pad - extent) / stride) + 1;

// s: { layout, N, C, H, W, O, stride: [sh, sw], pad: [ph, pw], groups, activation, slope }.
// Returns the expected value of output element `flat` and the sum of |terms| (for the tolerance).
export function convElement(s, x, w, b, flat) {
  const OH = outSize(s.H, s.pad[0], s.stride[0]), OW = outSize(s.W, s.pad[1], s.stride[1]);
  let n, o, oh, ow, r = flat;
  if (s.layout === 'nhwc') {
    o = r % s.O; r = (r - o) / s.O; ow = r % OW; r = (r - ow) / OW; oh = r % OH; n = (r - oh) / OH;
  } else {
    ow = r % OW; r = (r - ow) / OW; oh = r % OH; r = (r - oh) / OH; o = r % s.O; n = (r - o) / s.O;
  }
  const cin = s.C / s.groups, g = Math.floor(o / (s.O / s.groups));
  const ih = oh * s.stride[0] - s.pad[0], iw = ow * s.stride[1] - s.pad[1];
  let sum = b ? b[o] : 0, mag = Math.abs(sum);
  if (ih >= 0 && ih < s.H && iw >= 0 && iw < s.W) {
    for (let i = 0; i < cin; i++) {
      const c = g * cin + i;
      const xi = s.layout === 'nhwc' ? ((n * s.H + ih) * s.W + iw) * s.C + c : ((n * s.C + c) * s.H + ih) * s.W + iw;
      const term = w[o * cin + i] * x[xi];
      sum += term; mag += Math.abs(term);
    }
  }
  return { value: activate(sum, s.activation, s.slope), mag };
}

// Depthwise NCHW, dilation 1. d: { N, C, H, W, k, stride, pad, activation, slope }.
export function depthwiseElement(d, x, w, b, flat) {
  const OH = outSize(d.H, d.pad, d.stride, d.k), OW = outSize(d.W, d.pad, d.stride, d.k);
  let r = flat;
  const ow = r % OW; r = (r - ow) / OW;
  const oh = r % OH; r = (r - oh) / OH;
  const c = r % d.C, n = (r - c) / d.C;
  let sum = b ? b[c] : 0, mag = Math.abs(sum);
  for (let kh = 0; kh < d.k; kh++) {
    for (let kw = 0; kw < d.k; kw++) {
      const ih = oh * d.stride - d.pad + kh, iw = ow * d.stride - d.pad + kw;
      if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) continue;
      const term = w[(c * d.k + kh) * d.k + kw] * x[((n * d.C + c) * d.H + ih) * d.W + iw];
      sum += term; mag += Math.abs(term);
    }
  }
  return { value: activate(sum, d.activation, d.slope), mag };
}

// Every element, in float64 (for the small Sequential's end-to-end reference).
export function convAll(s, x, w, b) {
  const OH = outSize(s.H, s.pad[0], s.stride[0]), OW = outSize(s.W, s.pad[1], s.stride[1]);
  return Float64Array.from({ length: s.N * s.O * OH * OW }, (_, i) => convElement(s, x, w, b, i).value);
}

export function depthwiseAll(d, x, w, b) {
  const OH = outSize(d.H, d.pad, d.stride, d.k), OW = outSize(d.W, d.pad, d.stride, d.k);
  return Float64Array.from({ length: d.N * d.C * OH * OW }, (_, i) => depthwiseElement(d, x, w, b, i).value);
}
