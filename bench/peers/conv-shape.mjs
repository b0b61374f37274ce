// The conv shape every peer takes ({ n, cin, cout, h, w, stride, groups, layout, weight, bias }), its
// checks, and the NCHW ↔ NHWC copies for peers that run one layout only. The runner calls the copies
// through a peer's prepareInput / restoreOutput, outside the timed run(), so no peer pays for a transpose.

export const outputSize = (size, stride) => Math.floor((size - 1) / stride) + 1;

export function checkConvShape({ n, cin, cout, h, w, stride = 1, groups = 1, layout = 'nchw', weight, bias = null }) {
  for (const [name, value] of Object.entries({ n, cin, cout, h, w, stride, groups })) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`Expected positive integer for ${name} but received ${value}`);
    }
  }
  if (cin % groups !== 0 || cout % groups !== 0) {
    throw new RangeError(`Expected groups to divide cin (${cin}) and cout (${cout}) but received ${groups}`);
  }
  if (layout !== 'nchw' && layout !== 'nhwc') {
    throw new RangeError(`Expected 'nchw' or 'nhwc' for layout but received ${layout}`);
  }
  const weightLength = (cout * cin) / groups;
  if (!(weight instanceof Float32Array) || weight.length !== weightLength) {
    throw new TypeError(`Expected Float32Array of length ${weightLength} for weight but received ${describe(weight)}`);
  }
  if (bias !== null && (!(bias instanceof Float32Array) || bias.length !== cout)) {
    throw new TypeError(`Expected Float32Array of length ${cout} or null for bias but received ${describe(bias)}`);
  }
}

const describe = (value) =>
  ArrayBuffer.isView(value) ? `${value.constructor.name} of length ${value.length}` : `${value} of type ${typeof value}`;

export function nhwcToNchw(data, n, c, h, w) {
  const out = new Float32Array(data.length);
  const plane = h * w;
  for (let b = 0; b < n; b++) {
    const base = b * c * plane;
    for (let p = 0; p < plane; p++) {
      const src = base + p * c;
      for (let ch = 0; ch < c; ch++) out[base + ch * plane + p] = data[src + ch];
    }
  }
  return out;
}

export function nchwToNhwc(data, n, c, h, w) {
  const out = new Float32Array(data.length);
  const plane = h * w;
  for (let b = 0; b < n; b++) {
    const base = b * c * plane;
    for (let ch = 0; ch < c; ch++) {
      const src = base + ch * plane;
      for (let p = 0; p < plane; p++) out[base + p * c + ch] = data[src + p];
    }
  }
  return out;
}

// The prepareInput / restoreOutput pair of a peer that computes in `peerLayout` for a shape given in
// shape.layout: identities when they agree, transposing copies when they differ.
export function layoutAdapter(shape, peerLayout) {
  const { n, cin, cout, h, w, stride = 1, layout = 'nchw' } = shape;
  const [oh, ow] = [outputSize(h, stride), outputSize(w, stride)];
  const same = (data) => data;
  if (layout === peerLayout) {
    return { inputLayout: peerLayout, outputLayout: peerLayout, prepareInput: same, restoreOutput: same };
  }
  const toPeer = peerLayout === 'nchw' ? nhwcToNchw : nchwToNhwc;
  const fromPeer = peerLayout === 'nchw' ? nchwToNhwc : nhwcToNchw;
  return {
    inputLayout: peerLayout,
    outputLayout: peerLayout,
    prepareInput: (input) => toPeer(input, n, cin, h, w),
    restoreOutput: (output) => fromPeer(output, n, cout, oh, ow),
  };
}
