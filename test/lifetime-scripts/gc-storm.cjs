// gc() forced on every turn of the event loop (setImmediate) during 2,000 async calls of mixed kinds
// and shapes (node --expose-gc), at most 128 in flight. Each call gets a fresh copy of one of a few
// seeded inputs, dropped right after the call, and every other call a fresh `out`. Every result must
// equal the sync forward of its input bit for bit; the results of the small functional calls are
// reported whole so that the test can check them against its float64 reference (test/reference.ts).
'use strict';
const { lib, report, seededFloats, same } = require('./common.cjs');

const TOTAL = 2000, MAX_IN_FLIGHT = 128, INPUTS_PER_KIND = 3;
const count = (shape) => shape.reduce((a, b) => a * b, 1);
const seeded = (shape, seed) => ({ data: seededFloats(count(shape), seed), shape });

// Functional calls small enough to report whole; `ref` is the RefCase of test/reference.ts.
const FUNCTIONAL = [
  { ref: { batch: 2, inChannels: 8, outChannels: 6, height: 5, width: 6, activation: 'relu' }, seed: 1000 },
  { ref: { batch: 1, inChannels: 12, outChannels: 9, height: 7, width: 7, stride: [2, 2], padding: [1, 1], groups: 3, activation: 'gelu' }, seed: 1100 },
  { ref: { batch: 3, inChannels: 16, outChannels: 8, height: 4, width: 3, layout: 'nhwc', activation: 'tanh' }, seed: 1200 },
];

function functionalKind({ ref, seed }) {
  const inputShape = ref.layout === 'nhwc' ? [ref.batch, ref.height, ref.width, ref.inChannels] : [ref.batch, ref.inChannels, ref.height, ref.width];
  const weight = seeded([ref.outChannels, ref.inChannels / (ref.groups ?? 1)], seed + 1);
  const bias = seededFloats(ref.outChannels, seed + 2);
  const options = { bias, stride: ref.stride, padding: ref.padding, groups: ref.groups, activation: ref.activation, layout: ref.layout };
  return {
    name: `conv1x1Async ${JSON.stringify(ref)}`, inputShape, inputSeed: seed + 10, ref, weightSeed: seed + 1, biasSeed: seed + 2,
    sync: (x) => lib.conv1x1(x, weight, options),
    async: (x, out) => lib.conv1x1Async(x, weight, out ? { ...options, out } : options),
  };
}

function layerKind(name, layer, inputShape, seed) {
  return { name, inputShape, inputSeed: seed, sync: (x) => layer.forward(x), async: (x, out) => layer.forwardAsync(x, out) };
}

const conv = (cin, cout, seed, extra = {}) => new lib.Conv1x1({ inChannels: cin, outChannels: cout, weight: seeded([cout, cin / (extra.groups ?? 1)], seed), bias: seededFloats(cout, seed + 1), ...extra });
const dw = (c, seed, extra = {}) => new lib.DepthwiseConv2d({ channels: c, kernelSize: 3, padding: 1, weight: seeded([c, 1, 3, 3], seed), bias: seededFloats(c, seed + 1), ...extra });

const KINDS = [
  ...FUNCTIONAL.map(functionalKind),
  layerKind('Conv1x1 56² 64→64', conv(64, 64, 2000, { activation: 'relu' }), [1, 64, 56, 56], 2010),
  layerKind('Conv1x1 14² 256→128 nhwc', conv(256, 128, 2100, { layout: 'nhwc', activation: 'silu' }), [2, 14, 14, 256], 2110),
  layerKind('Conv1x1 28² 96→48 s2 p1 g3', conv(96, 48, 2200, { stride: 2, padding: 1, groups: 3, activation: 'hardswish' }), [1, 96, 28, 28], 2210),
  layerKind('DepthwiseConv2d 28² 64 5×5 s2', dw(64, 2300, { kernelSize: 5, stride: 2, padding: 2, weight: seeded([64, 1, 5, 5], 2300) }), [2, 64, 28, 28], 2310),
  layerKind('Linear 512→1000', new lib.Linear({ inFeatures: 512, outFeatures: 1000, weight: seeded([1000, 512], 2400), bias: seededFloats(1000, 2401) }), [8, 512], 2410),
  layerKind('Sequential', new lib.Sequential([conv(32, 96, 2500, { activation: 'relu6' }), dw(96, 2510, { activation: 'relu6' }), conv(96, 32, 2520), new lib.GlobalAvgPool(), new lib.Linear({ inFeatures: 32, outFeatures: 10, weight: seeded([10, 32], 2530) })]), [2, 32, 20, 20], 2540),
  layerKind('Residual', new lib.Residual(new lib.Sequential([conv(32, 64, 2600, { activation: 'relu' }), dw(64, 2610), conv(64, 32, 2620)]), { activation: 'relu' }), [1, 32, 24, 24], 2630),
];

for (const kind of KINDS) {
  kind.inputs = Array.from({ length: INPUTS_PER_KIND }, (_, i) => seededFloats(count(kind.inputShape), kind.inputSeed + i));
  const results = kind.inputs.map((data) => kind.sync({ data, shape: kind.inputShape }));
  kind.expected = results.map((y) => y.data);
  kind.outputShape = results[0].shape;
  kind.calls = 0;
  kind.wrong = 0;
}

async function main() {
  let launched = 0, settled = 0, inFlight = 0, gcs = 0, failures = [];
  const reported = [];
  let wake = null;
  (function collect() {
    globalThis.gc();
    gcs++;
    if (settled < TOTAL) setImmediate(collect);
  })();
  const started = performance.now();
  while (launched < TOTAL) {
    if (inFlight >= MAX_IN_FLIGHT) { await new Promise((resolve) => { wake = resolve; }); continue; }
    const i = launched++;
    const kind = KINDS[i % KINDS.length];
    const which = Math.floor(i / KINDS.length) % INPUTS_PER_KIND;
    const x = { data: new Float32Array(kind.inputs[which]), shape: kind.inputShape };  // a fresh copy, garbage after the call
    const out = i % 2 === 0 ? null : { data: new Float32Array(kind.expected[which].length), shape: kind.outputShape };
    inFlight++;
    kind.calls++;
    kind.async(x, out).then((y) => {
      if (!same(y.data, kind.expected[which]) || (out && y.data !== out.data)) kind.wrong++;
      if (kind.ref && reported.length < 6 && !reported.some((r) => r.name === kind.name && r.which === which)) {
        reported.push({ name: kind.name, which, ref: kind.ref, inputSeed: kind.inputSeed + which, weightSeed: kind.weightSeed, biasSeed: kind.biasSeed, output: Array.from(y.data) });
      }
    }, (error) => failures.push(`${kind.name}: ${error?.code} ${error?.message}`)).finally(() => {
      settled++;
      inFlight--;
      if (wake) { const w = wake; wake = null; w(); }
    });
  }
  while (settled < TOTAL) await new Promise((resolve) => setImmediate(resolve));
  report({
    calls: settled,
    seconds: (performance.now() - started) / 1000,
    gcs,
    failures: failures.slice(0, 5),
    kinds: KINDS.map((k) => ({ name: k.name, calls: k.calls, wrong: k.wrong })),
    references: reported,
    queueAfter: lib.backend().queue,
  });
}

main().catch((error) => { console.error(error); process.exitCode = 1; });
