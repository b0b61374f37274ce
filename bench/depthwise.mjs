// The depthwise benchmark: MobileNetV2's 3×3 depthwise layers (N=1, padding 1, bias + ReLU6 fused)
// through DepthwiseConv2d.forward at 1 and 2 threads, in GFLOP/s (2·N·C·OH·OW·kH·kW flops). A
// depthwise layer does only kH·kW multiply-adds per output, so beside each runs a yardstick for the
// memory side, timed in the same rounds (interleaved): copying the same bytes (the input and the
// output, one TypedArray.set each, on one thread). Each figure is the median over rounds of per-round
// medians. Run: `npx tsc -p tsconfig.build.json && node bench/depthwise.mjs`.
import { createRequire } from 'node:module';
import { median } from './stats.mjs';

const require = createRequire(import.meta.url);
const { Tensor, backend, setThreads } = require('../dist/index.js');
const { DepthwiseConv2d } = require('../dist/layers/depthwise.js');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const MIN_ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 60);
// [H, W, C, stride]: the input of each of MobileNetV2's depthwise stages.
const SHAPES = [
  [112, 112, 96, 2],
  [56, 56, 144, 1],
  [28, 28, 192, 1],
  [14, 14, 576, 1],
  [7, 7, 960, 1],
];


function seeded(count, seed) {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  });
}

// Median time of one call, over enough calls to fill MIN_ROUND_MS.
function time(fn) {
  for (let i = 0; i < 3; i++) fn();
  const times = [];
  const until = performance.now() + MIN_ROUND_MS;
  while (times.length < 10 || performance.now() < until) {
    const start = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(times);
}

function setup([h, w, c, stride]) {
  const layer = new DepthwiseConv2d({
    channels: c, kernelSize: 3, stride, padding: 1, activation: 'relu6',
    weight: { data: seeded(c * 9, 1), shape: [c, 1, 3, 3] }, bias: seeded(c, 2),
  });
  const input = new Tensor(seeded(c * h * w, 3), [1, c, h, w]);
  const outShape = layer.outputShape(input.shape);
  const out = Tensor.zeros(outShape);
  const copies = [new Float32Array(input.data.length), new Float32Array(out.data.length)];
  return {
    label: `${h}×${w}×${c} s${stride}`,
    flops: layer.flops(input.shape),
    bytes: 4 * (input.data.length + out.data.length),
    conv: () => layer.forward(input, out),
    copy: () => { copies[0].set(input.data); copies[1].set(out.data); },
  };
}

const info = backend();
console.log(`MobileNetV2 3×3 depthwise layers, N=1, padding 1, bias + ReLU6; ${ROUNDS} rounds of ≥ ${MIN_ROUND_MS} ms`);
console.log(`CPU ${info.simd}; ${info.cores} cores; node ${process.version}`);
const cases = SHAPES.map(setup);
const rows = [];
for (const threads of [1, 2].filter((t) => t <= info.cores)) {
  setThreads(threads);
  const samples = cases.map(() => ({ conv: [], copy: [] }));
  for (let round = 0; round < ROUNDS; round++) {
    cases.forEach((c, i) => {
      samples[i].conv.push(time(c.conv));
      samples[i].copy.push(time(c.copy));
    });
  }
  cases.forEach((c, i) => {
    const ms = median(samples[i].conv), copyMs = median(samples[i].copy);
    rows.push({ threads, label: c.label, ms, gflops: c.flops / ms / 1e6, gbps: c.bytes / ms / 1e6, copyMs });
  });
}
console.log('\nthreads  layer (H×W×C stride)   median ms   GFLOP/s   GB/s in+out   copy ms   copy / conv');
for (const r of rows) {
  console.log(`${String(r.threads).padEnd(9)}${r.label.padEnd(23)}${r.ms.toFixed(4).padStart(9)}   ` +
    `${r.gflops.toFixed(2).padStart(7)}   ${r.gbps.toFixed(1).padStart(11)}   ${r.copyMs.toFixed(4).padStart(7)}   ` +
    `${(r.copyMs / r.ms).toFixed(3).padStart(11)}`);
}
console.log('\n"copy" = copying the bytes the layer must read and write (input and output), one TypedArray.set each, 1 thread.');
