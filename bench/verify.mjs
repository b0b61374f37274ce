// Inputs for a shape, and the check that a competitor's output is right: 256 sampled outputs against
// float64 sums, with a tolerance that grows with K (as the test suite's).
export function seeded(count, seed) {
  let state = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

export function makeData(shape) {
  const { n, cin, cout, h, w, groups } = shape;
  return {
    input: seeded(n * cin * h * w, 1),
    weight: seeded(cout * (cin / groups), 2).map((v) => v / Math.sqrt(cin / groups)),
    bias: seeded(cout, 3),
  };
}

function inputIndex(shape, b, c, y, x) {
  const { cin, h, w, layout } = shape;
  return layout === 'nhwc' ? ((b * h + y) * w + x) * cin + c : ((b * cin + c) * h + y) * w + x;
}

export function outputIndex(shape, b, c, y, x) {
  const { cout, oh, ow, layout } = shape;
  return layout === 'nhwc' ? ((b * oh + y) * ow + x) * cout + c : ((b * cout + c) * oh + y) * ow + x;
}

/** null when right, else what is wrong. */
export function checkOutput(shape, data, output) {
  const { n, cin, cout, oh, ow, stride, groups } = shape;
  const expected = n * cout * oh * ow;
  if (!(output instanceof Float32Array) || output.length !== expected) {
    return `expected ${expected} floats, got ${output?.length}`;
  }
  const cinG = cin / groups, coutG = cout / groups;
  let state = 7;
  for (let s = 0; s < 256; s++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const b = state % n, c = (state >>> 3) % cout, y = (state >>> 7) % oh, x = (state >>> 13) % ow;
    const g = Math.floor(c / coutG);
    let sum = data.bias[c], magnitude = Math.abs(data.bias[c]);
    for (let i = 0; i < cinG; i++) {
      const p = data.input[inputIndex(shape, b, g * cinG + i, y * stride, x * stride)] * data.weight[c * cinG + i];
      sum += p;
      magnitude += Math.abs(p);
    }
    const got = output[outputIndex(shape, b, c, y, x)];
    if (!(Math.abs(got - sum) <= 4 * (cinG + 2) * 2 ** -23 * magnitude + 1e-6)) {
      return `output[b=${b}, c=${c}, y=${y}, x=${x}] is ${got} but float64 gives ${sum}`;
    }
  }
  return null;
}
