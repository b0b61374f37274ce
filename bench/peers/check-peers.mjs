// Self-check of the peers: each one, on small shapes covering stride 2, groups 3 and NHWC, against a
// float64 reference; the error allowed at each output is 1e-4 · (Σ|x·w| + |b|) for that output.
// Run: node bench/peers/check-peers.mjs   (exits 1 on any FAIL; an unavailable or unsupported case is SKIP)

import { outputSize } from './conv-shape.mjs';
import { PEERS } from './index.mjs';

const SHAPES = [
  { n: 2, cin: 8, cout: 5, h: 3, w: 4, stride: 1, groups: 1, layout: 'nchw' },
  { n: 1, cin: 6, cout: 9, h: 5, w: 5, stride: 2, groups: 3, layout: 'nchw' },
  { n: 2, cin: 12, cout: 6, h: 5, w: 3, stride: 2, groups: 1, layout: 'nhwc' },
  { n: 1, cin: 9, cout: 6, h: 4, w: 4, stride: 1, groups: 3, layout: 'nhwc' },
];
const THREADS = [1, 2];
const TOLERANCE = 1e-4;

function seeded(count, seed) {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  });
}

// Output and Σ|x·w| + |b| per output element, in float64, indexed in shape.layout.
function reference({ n, cin, cout, h, w, stride, groups, layout, weight, bias }, input) {
  const [oh, ow] = [outputSize(h, stride), outputSize(w, stride)];
  const at = (b, c, y, x) => (layout === 'nchw' ? ((b * cin + c) * h + y) * w + x : ((b * h + y) * w + x) * cin + c);
  const outAt = (b, c, y, x) =>
    layout === 'nchw' ? ((b * cout + c) * oh + y) * ow + x : ((b * oh + y) * ow + x) * cout + c;
  const [cinPerGroup, coutPerGroup] = [cin / groups, cout / groups];
  const output = new Float64Array(n * cout * oh * ow);
  const magnitude = new Float64Array(output.length);
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < cout; oc++) {
      const firstIn = Math.floor(oc / coutPerGroup) * cinPerGroup;
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          let sum = bias[oc];
          let abs = Math.abs(bias[oc]);
          for (let k = 0; k < cinPerGroup; k++) {
            const term = weight[oc * cinPerGroup + k] * input[at(b, firstIn + k, oy * stride, ox * stride)];
            sum += term;
            abs += Math.abs(term);
          }
          output[outAt(b, oc, oy, ox)] = sum;
          magnitude[outAt(b, oc, oy, ox)] = abs;
        }
      }
    }
  }
  return { output, magnitude };
}

function compare(actual, expected) {
  if (actual.length !== expected.output.length) {
    return `length ${actual.length}, expected ${expected.output.length}`;
  }
  for (let i = 0; i < actual.length; i++) {
    const error = Math.abs(actual[i] - expected.output[i]);
    if (!(error <= TOLERANCE * expected.magnitude[i])) {
      return `at ${i}: ${actual[i]} vs ${expected.output[i]} (error ${error.toExponential(2)})`;
    }
  }
  return null;
}

const describeShape = (s) => `N${s.n} ${s.cin}→${s.cout} ${s.h}×${s.w} s${s.stride} g${s.groups} ${s.layout}`;

let failures = 0;
for (const peer of PEERS) {
  const availability = await peer.available();
  if (!availability.ok) {
    console.log(`SKIP ${peer.name}: ${availability.reason}`);
    continue;
  }
  for (const [index, dims] of SHAPES.entries()) {
    const shape = {
      ...dims,
      weight: seeded((dims.cout * dims.cin) / dims.groups, 11 + index),
      bias: seeded(dims.cout, 23 + index),
    };
    const input = seeded(dims.n * dims.cin * dims.h * dims.w, 37 + index);
    const expected = reference(shape, input);
    for (const threads of peer.name === 'plain-js' ? [1] : THREADS) {
      const name = `${peer.name} [${describeShape(shape)}] threads=${threads}`;
      const support = peer.supports(shape);
      if (!support.ok) {
        console.log(`SKIP ${name}: ${support.reason}`);
        continue;
      }
      try {
        const instance = await peer.create(shape, { threads });
        const prepared = instance.prepareInput(input);
        // Twice: a peer must not carry state from one run into the next.
        const problem =
          compare(instance.restoreOutput(await instance.run(prepared)), expected) ??
          compare(instance.restoreOutput(await instance.run(prepared)), expected);
        await instance.close();
        if (problem) {
          failures++;
          console.log(`FAIL ${name}: ${problem}`);
        } else {
          console.log(`OK   ${name}: ${instance.label} (in ${instance.inputLayout}, out ${instance.outputLayout})`);
        }
      } catch (error) {
        failures++;
        console.log(`FAIL ${name}: ${error.stack}`);
      }
    }
  }
}
console.log(failures === 0 ? 'all peers OK' : `${failures} FAIL`);
process.exitCode = failures === 0 ? 0 : 1;
