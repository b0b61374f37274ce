// A few calls through every native entry point, checked against a float64 reference; run under
// valgrind memcheck by scripts/valgrind-smoke.sh (the whole suite would take hours under memcheck).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const c = require('../dist/index.js');

function random(n, seed) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) { seed = (seed * 1103515245 + 12345) >>> 0; out[i] = (seed / 2 ** 32) * 2 - 1; }
  return out;
}

// NCHW, stride 1, no padding: y[n,o,p] = b[o] + sum_i w[o,i] x[n,i,p]
function reference(x, [N, C, H, W], w, b, O) {
  const y = new Float32Array(N * O * H * W);
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) for (let p = 0; p < H * W; p++) {
    let s = b ? b[o] : 0;
    for (let i = 0; i < C; i++) s += w[o * C + i] * x[(n * C + i) * H * W + p];
    y[(n * O + o) * H * W + p] = s;
  }
  return y;
}

function expectClose(actual, expected, what) {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    if (Math.abs(actual[i] - expected[i]) > 1e-4 * (1 + Math.abs(expected[i]))) {
      throw new Error(`${what}: [${i}] = ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

async function main() {
  const [N, C, H, W, O] = [2, 37, 5, 7, 19];
  const shape = [N, C, H, W];
  const x = random(N * C * H * W, 1), w = random(O * C, 2), b = random(O, 3);
  const input = new c.Tensor(x, shape);
  const want = reference(x, shape, w, b, O);

  expectClose(c.conv1x1(input, new c.Tensor(w, [O, C]), { bias: b }).data, want, 'conv1x1');
  expectClose((await c.conv1x1Async(input, new c.Tensor(w, [O, C]), { bias: b })).data, want, 'conv1x1Async');

  const layer = new c.Conv1x1({ inChannels: C, outChannels: O, weight: new c.Tensor(w, [O, C]), bias: b });
  expectClose(layer.forward(input).data, want, 'Conv1x1.forward');
  expectClose((await layer.forwardAsync(input)).data, want, 'Conv1x1.forwardAsync');
  const nhwc = new c.Conv1x1({ inChannels: C, outChannels: O, weight: new c.Tensor(w, [O, C]), bias: b, layout: 'nhwc', activation: 'relu' });
  nhwc.forward(new c.Tensor(random(N * H * W * C, 4), [N, H, W, C]));

  const model = new c.Sequential([
    new c.Conv1x1({ inChannels: C, outChannels: O, weight: new c.Tensor(w, [O, C]), bias: b, activation: 'relu6' }),
    new c.DepthwiseConv2d({ channels: O, kernelSize: 3, padding: 1, weight: new c.Tensor(random(O * 9, 5), [O, 1, 3, 3]), activation: 'silu' }),
    new c.GlobalAvgPool(),
    new c.Linear({ inFeatures: O, outFeatures: 4, weight: new c.Tensor(random(4 * O, 6), [4, O]), bias: random(4, 7) }),
  ]);
  const y1 = model.forward(input), y2 = await model.forwardAsync(input);
  expectClose(y2.data, y1.data, 'Sequential async vs sync');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conv1x1-valgrind-'));
  try {
    const file = path.join(dir, 'layer.safetensors');
    c.saveSafetensors(file, { 'conv.weight': new c.Tensor(w, [O, C, 1, 1]), 'conv.bias': new c.Tensor(b, [O]) });
    const loaded = c.Conv1x1.fromWeights(c.loadWeights(file), 'conv');
    expectClose(loaded.forward(input).data, want, 'Conv1x1.fromWeights(safetensors)');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`valgrind smoke ok: backend ${c.backend().name}`);
}

main().catch((err) => { console.error(err); process.exit(1); });
