// Load and leak soak (notes/reliability.md section c): mixed sync and async calls through every entry
// point with at most --in-flight async calls at once, periodic gc() and memory samples, a float64 check
// of a few output elements on every 1000th call, then a burst of concurrent async calls against the
// process-wide bound on async calls in flight (setQueueLimits): each burst call must either resolve
// with a correct result or reject with ERR_QUEUE_FULL.
//
//   node --expose-gc scripts/soak.mjs [--calls N] [--seconds S] [--only REGEX] [--burst N] [--in-flight N]
//
// Fails (exit 1) on a wrong result, an error, RSS growth after warm-up over 64 MB, arrayBuffers growth
// over 16 MB, a burst call with any other outcome than a correct result or ERR_QUEUE_FULL, fewer burst
// calls served than the queue's bound admits, calls still counted in the queue after the burst, or a
// burst peak RSS over 1.5 GB. MB here is 2^20 bytes. --only runs the call kinds whose
// names match (the names are printed at the start), to find which one grows.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Conv1x1, Conv1x1Error, DepthwiseConv2d, GlobalAvgPool, Linear, Sequential, Tensor, backend, conv1x1, conv1x1Async } from '../dist/index.js';
import { convAll, convElement, depthwiseAll, depthwiseElement, outSize, prng, random } from './soak-reference.mjs';

const RSS_BOUND_MB = 64;
const ARRAY_BUFFERS_BOUND_MB = 16;
const BURST_RSS_BOUND_MB = 1536;
const CHECK_EVERY = 1000;
const SAMPLE_SECONDS = 1;
const MB = 2 ** 20;

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '120' },
    only: { type: 'string' },
    burst: { type: 'string', default: '10000' },
    'in-flight': { type: 'string', default: '64' },
  },
});
const totalCalls = positiveInteger('--calls', args.calls);
const budgetSeconds = positiveInteger('--seconds', args.seconds);
const burstCalls = positiveInteger('--burst', args.burst, 0);
const maxInFlight = positiveInteger('--in-flight', args['in-flight']);
if (typeof globalThis.gc !== 'function') usage('run with node --expose-gc');

function positiveInteger(name, text, min = 1) {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) usage(`${name} expects an integer >= ${min}, got ${text}`);
  return n;
}
function usage(message) {
  console.error(`soak: ${message}\nusage: node --expose-gc scripts/soak.mjs [--calls N] [--seconds S] [--only REGEX] [--burst N] [--in-flight N]`);
  process.exit(2);
}

// ---- the operations: each has a fixed input, a sync and an async form, and a sampled check ----

let seed = 100;
const tensor = (shape) => new Tensor(random(shape.reduce((a, b) => a * b, 1), seed++), shape);

function closeEnough(actual, expected, mag) {
  return Math.abs(actual - expected) <= 1e-4 * (1 + mag);
}

// Checks `count` elements picked by rnd; returns a description of the first mismatch, or null.
function checkElements(what, result, shape, count, rnd, element) {
  if (result.shape.join() !== shape.join()) return `${what}: shape [${result.shape}], expected [${shape}]`;
  for (let k = 0; k < count; k++) {
    const i = Math.floor(rnd() * result.data.length);
    const { value, mag } = element(i);
    if (!closeEnough(result.data[i], value, mag)) return `${what}: element ${i} is ${result.data[i]}, float64 reference ${value}`;
  }
  return null;
}

function convSpec(s) {
  return { stride: [1, 1], pad: [0, 0], groups: 1, activation: 'none', slope: 0.01, bias: true, ...s };
}
function convShapes(s) {
  const OH = outSize(s.H, s.pad[0], s.stride[0]), OW = outSize(s.W, s.pad[1], s.stride[1]);
  return s.layout === 'nhwc'
    ? { input: [s.N, s.H, s.W, s.C], output: [s.N, OH, OW, s.O] }
    : { input: [s.N, s.C, s.H, s.W], output: [s.N, s.O, OH, OW] };
}
function convOptions(s, bias) {
  return { bias, stride: s.stride, padding: s.pad, groups: s.groups, activation: s.activation, negativeSlope: s.slope, layout: s.layout };
}

// Functional conv1x1 / conv1x1Async.
function functionalOp(name, spec) {
  const s = convSpec(spec), shapes = convShapes(s);
  const x = tensor(shapes.input), w = tensor([s.O, s.C / s.groups]), bias = s.bias ? random(s.O, seed++) : undefined;
  const options = convOptions(s, bias);
  return {
    name: `conv:${name}`, outputShape: shapes.output,
    sync: (out) => conv1x1(x, w, out ? { ...options, out } : options),
    async: (out) => conv1x1Async(x, w, out ? { ...options, out } : options),
    check: (r, rnd) => checkElements(`conv:${name}`, r, shapes.output, 4, rnd, (i) => convElement(s, x.data, w.data, bias, i)),
  };
}

// The Conv1x1 layer: forward / forwardAsync.
function layerOp(name, spec) {
  const s = convSpec(spec), shapes = convShapes(s);
  const x = tensor(shapes.input), w = tensor([s.O, s.C / s.groups]), bias = s.bias ? random(s.O, seed++) : undefined;
  const layer = new Conv1x1({ inChannels: s.C, outChannels: s.O, weight: w, ...convOptions(s, bias) });
  return {
    name: `layer:${name}`, outputShape: shapes.output,
    sync: (out) => layer.forward(x, out),
    async: (out) => layer.forwardAsync(x, out),
    check: (r, rnd) => checkElements(`layer:${name}`, r, shapes.output, 4, rnd, (i) => convElement(s, x.data, w.data, bias, i)),
  };
}

function depthwiseOp(name, d) {
  const x = tensor([d.N, d.C, d.H, d.W]), w = tensor([d.C, 1, d.k, d.k]), bias = random(d.C, seed++);
  const layer = new DepthwiseConv2d({ channels: d.C, kernelSize: d.k, stride: d.stride, padding: d.pad, weight: w, bias, activation: d.activation });
  const outputShape = [d.N, d.C, outSize(d.H, d.pad, d.stride, d.k), outSize(d.W, d.pad, d.stride, d.k)];
  return {
    name: `depthwise:${name}`, outputShape,
    sync: (out) => layer.forward(x, out),
    async: (out) => layer.forwardAsync(x, out),
    check: (r, rnd) => checkElements(`depthwise:${name}`, r, outputShape, 4, rnd, (i) => depthwiseElement(d, x.data, w.data, bias, i)),
  };
}

// Conv1x1 → DepthwiseConv2d → GlobalAvgPool → Linear, against a whole float64 forward pass.
function sequentialOp() {
  const [N, C, H, W, O, F] = [2, 16, 8, 8, 24, 10];
  const x = tensor([N, C, H, W]);
  const cw = tensor([O, C]), cb = random(O, seed++), dw = tensor([O, 1, 3, 3]), db = random(O, seed++);
  const lw = tensor([F, O]), lb = random(F, seed++);
  const model = new Sequential([
    new Conv1x1({ inChannels: C, outChannels: O, weight: cw, bias: cb, activation: 'relu6' }),
    new DepthwiseConv2d({ channels: O, kernelSize: 3, padding: 1, weight: dw, bias: db, activation: 'silu' }),
    new GlobalAvgPool(),
    new Linear({ inFeatures: O, outFeatures: F, weight: lw, bias: lb }),
  ]);
  const a = convAll(convSpec({ layout: 'nchw', N, C, H, W, O, activation: 'relu6' }), x.data, cw.data, cb);
  const d = depthwiseAll({ N, C: O, H, W, k: 3, stride: 1, pad: 1, activation: 'silu' }, a, dw.data, db);
  const pooled = Float64Array.from({ length: N * O }, (_, i) => d.subarray(i * H * W, (i + 1) * H * W).reduce((s, v) => s + v, 0) / (H * W));
  const expected = Float64Array.from({ length: N * F }, (_, i) => {
    const n = Math.floor(i / F), f = i % F;
    let s = lb[f];
    for (let o = 0; o < O; o++) s += lw.data[f * O + o] * pooled[n * O + o];
    return s;
  });
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return {
    name: 'sequential', outputShape: [N, F],
    sync: (out) => model.forward(x, out),
    async: (out) => model.forwardAsync(x, out),
    check: (r) => checkElements('sequential', r, [N, F], N * F, (() => { let k = 0; return () => (k++ + 0.5) / (N * F); })(),
      (i) => ({ value: expected[i], mag: 10 * scale })),
  };
}

const ops = [
  functionalOp('nchw-8x8', { layout: 'nchw', N: 2, C: 16, H: 8, W: 8, O: 32, activation: 'relu' }),
  functionalOp('nchw-s2p1g4', { layout: 'nchw', N: 1, C: 32, H: 14, W: 14, O: 48, stride: [2, 2], pad: [1, 1], groups: 4, activation: 'silu' }),
  functionalOp('nchw-p2-gelu', { layout: 'nchw', N: 3, C: 8, H: 5, W: 6, O: 12, stride: [1, 2], pad: [2, 0], activation: 'gelu', bias: false }),
  functionalOp('nhwc-s2p1g2', { layout: 'nhwc', N: 2, C: 24, H: 9, W: 9, O: 40, stride: [2, 2], pad: [1, 1], groups: 2, activation: 'leaky_relu', slope: 0.2 }),
  functionalOp('nhwc-g12', { layout: 'nhwc', N: 1, C: 12, H: 6, W: 6, O: 12, groups: 12, activation: 'sigmoid' }),
  functionalOp('nchw-28x28-64to128', { layout: 'nchw', N: 1, C: 64, H: 28, W: 28, O: 128, activation: 'hardswish' }),
  functionalOp('nhwc-14x14-96to64', { layout: 'nhwc', N: 4, C: 96, H: 14, W: 14, O: 64, activation: 'tanh', bias: false }),
  layerOp('nchw-28x28-64to128', { layout: 'nchw', N: 1, C: 64, H: 28, W: 28, O: 128, activation: 'relu' }),
  layerOp('nhwc-s2g2', { layout: 'nhwc', N: 2, C: 48, H: 14, W: 14, O: 96, stride: [2, 2], groups: 2, activation: 'relu6' }),
  depthwiseOp('3x3', { N: 2, C: 32, H: 14, W: 14, k: 3, stride: 1, pad: 1, activation: 'relu6' }),
  depthwiseOp('5x5-s2', { N: 1, C: 16, H: 15, W: 15, k: 5, stride: 2, pad: 2, activation: 'silu' }),
  sequentialOp(),
];

// Every op × {sync, async} × {new output, out}. Async cases keep a free list of `out` tensors, one
// per call in flight, so that concurrent calls never share one.
const only = args.only ? new RegExp(args.only) : null;
const cases = ops
  .flatMap((op) => [false, true].flatMap((isAsync) => [false, true].map((withOut) => ({
    op, isAsync, withOut, name: `${op.name}:${isAsync ? 'async' : 'sync'}:${withOut ? 'out' : 'new'}`, outs: [], calls: 0,
  }))))
  .filter((c) => !only || only.test(c.name));
if (cases.length === 0) usage(`--only ${args.only} matches no call kind`);

// ---- memory sampling ----

function sample() {
  const m = process.memoryUsage();
  return { rss: m.rss, ab: m.arrayBuffers };
}
// Drops the async out pools first (bounded, but their size depends on how calls happened to overlap).
async function settledSample() {
  for (const c of cases) if (c.isAsync) c.outs.length = 0;
  for (let i = 0; i < 3; i++) { globalThis.gc(); await nextTurn(); }
  return sample();
}
const mb = (bytes) => (bytes / MB).toFixed(1);
const signedMb = (bytes) => `${bytes >= 0 ? '+' : ''}${mb(bytes)}`;

// ---- the soak ----

let failure = null;
function fail(reason) { failure ??= reason; }

let inFlight = 0;
let waiters = [];
function release() {
  inFlight--;
  const woken = waiters; waiters = [];
  for (const w of woken) w();
}
async function waitUntil(condition) {
  while (!condition()) await new Promise((resolve) => waiters.push(resolve));
}

function sameMemory(result, out) {
  return result.data.buffer === out.data.buffer && result.data.byteOffset === out.data.byteOffset;
}

function runCase(c, check, rnd) {
  c.calls++;
  const verify = (r, out) => {
    if (out && !sameMemory(r, out)) return fail(`${c.name}: the result is not the out tensor`);
    const problem = check ? c.op.check(r, rnd) : r.shape.length === c.op.outputShape.length ? null : `${c.name}: shape [${r.shape}]`;
    if (problem) fail(`${c.name}: ${problem}`);
  };
  if (!c.isAsync) {
    const out = c.withOut ? (c.outs[0] ??= Tensor.zeros(c.op.outputShape)) : null;
    verify(c.op.sync(out), out);
    return;
  }
  const out = c.withOut ? c.outs.pop() ?? Tensor.zeros(c.op.outputShape) : null;
  inFlight++;
  c.op.async(out)
    .then((r) => verify(r, out), (e) => fail(`${c.name} rejected: ${e?.code ?? ''} ${e?.stack ?? e}`))
    .finally(() => { if (out) c.outs.push(out); release(); });
}

async function soak() {
  const rnd = prng(1);
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const warmupCalls = Math.ceil(totalCalls / 10), warmupSeconds = budgetSeconds / 10;
  let baseline = null, peak = { rss: 0, ab: 0 }, lastSample = 0, lastPrint = 0, calls = 0;
  const samples = [];

  for (; calls < totalCalls && !failure; calls++) {
    if ((calls & 255) === 0) {
      const t = elapsed();
      if (t >= budgetSeconds) break;
      const now = sample();
      peak = { rss: Math.max(peak.rss, now.rss), ab: Math.max(peak.ab, now.ab) };
      if (!baseline && (calls >= warmupCalls || t >= warmupSeconds)) {
        await waitUntil(() => inFlight === 0);
        baseline = { ...(await settledSample()), t: elapsed(), calls };
        peak = { ...baseline };
        lastSample = baseline.t;
        console.log(`  warm-up done after ${calls} calls, ${baseline.t.toFixed(1)} s: baseline rss ${mb(baseline.rss)} MB, arrayBuffers ${mb(baseline.ab)} MB`);
      } else if (baseline && t - lastSample >= SAMPLE_SECONDS) {
        // Drained and gc'd like the baseline, so that the series shows retained memory only.
        await waitUntil(() => inFlight === 0);
        samples.push({ ...(await settledSample()), t, calls });
        lastSample = t;
        if (t - lastPrint >= 10) {
          const s = samples.at(-1);
          console.log(`  ${t.toFixed(0).padStart(4)} s ${String(calls).padStart(7)} calls: rss ${mb(s.rss)} MB, arrayBuffers ${mb(s.ab)} MB (after gc)`);
          lastPrint = t;
        }
      }
      await nextTurn();  // let async completions run even during a stretch of sync calls
    }
    const c = cases[Math.floor(rnd() * cases.length)];
    const check = calls % CHECK_EVERY === 0 || c.calls === 0;
    if (c.isAsync && inFlight >= maxInFlight) await waitUntil(() => inFlight < maxInFlight);
    try {
      runCase(c, check, rnd);
    } catch (e) {
      fail(`${c.name} threw: ${e?.code ?? ''} ${e?.stack ?? e}`);
    }
  }
  await waitUntil(() => inFlight === 0);
  const seconds = elapsed();
  if (!baseline) fail(`the run ended (${calls} calls, ${seconds.toFixed(1)} s) before the warm-up did; give it more --calls or --seconds`);
  const final = await settledSample();
  return { calls, seconds, baseline, final, peak, samples };
}

// Least-squares slope of the gc'd RSS samples, in MB per minute: near 0 when memory is flat.
function rssSlope(samples) {
  if (samples.length < 3) return NaN;
  const n = samples.length, mt = samples.reduce((s, p) => s + p.t, 0) / n, mr = samples.reduce((s, p) => s + p.rss, 0) / n;
  let num = 0, den = 0;
  for (const p of samples) { num += (p.t - mt) * (p.rss - mr); den += (p.t - mt) ** 2; }
  return (num / den) * 60 / MB;
}

// ---- the burst: every call launched at once; distinct inputs so that mixed-up results show ----
// Launched in one synchronous loop, so that no call settles before the last is launched: the queue's
// bound (backend().queue: maxCalls, maxBytes) admits a fixed number of them and refuses the rest with
// ERR_QUEUE_FULL before allocating anything for them.

async function burst(count) {
  const [C, H, W, O] = [16, 8, 8, 16];
  const base = random(C * H * W, 7), w = tensor([O, C]), bias = random(O, 8);
  const inputFor = (i) => base.map((v) => v + (i + 1) / count);
  const before = await settledSample();
  let peak = { ...before };
  const track = () => { const s = sample(); peak = { rss: Math.max(peak.rss, s.rss), ab: Math.max(peak.ab, s.ab) }; };
  const timer = setInterval(track, 5);
  const rnd = prng(2);
  const limits = backend().queue;
  // What the functional call holds in the queue: its input and weight snapshots and its output.
  const callBytes = (C * H * W + O * C + O * H * W) * 4;
  const admitted = Math.min(count, limits.maxCalls, Math.max(1, Math.floor(limits.maxBytes / callBytes)));
  let wrong = null, served = 0, queueFull = 0, other = null, peakQueue = 0;
  const started = performance.now();
  const pending = [];
  for (let i = 0; i < count; i++) {
    pending.push(conv1x1Async(new Tensor(inputFor(i), [1, C, H, W]), w, { bias }).then((r) => {
      if (++served % 250 === 0) track();
      if (wrong) return;
      const x = inputFor(i);
      wrong = checkElements(`burst call ${i}`, r, [1, O, H, W], 4, rnd,
        (j) => convElement(convSpec({ layout: 'nchw', N: 1, C, H, W, O }), x, w.data, bias, j));
    }, (e) => {
      if (e instanceof Conv1x1Error && e.code === 'ERR_QUEUE_FULL') queueFull++;
      else other ??= e;
    }));
    if ((i & 255) === 0) peakQueue = Math.max(peakQueue, backend().queue.calls);
  }
  peakQueue = Math.max(peakQueue, backend().queue.calls);
  track();
  const launchedMs = performance.now() - started;
  await Promise.all(pending);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  track();
  pending.length = 0;
  const queueAfter = backend().queue;
  const after = await settledSample();
  return { count, served, queueFull, other, wrong, admitted, limits, peakQueue, queueAfter, before, peak, after, seconds, launchedMs };
}

// ---- main ----

const b = backend();
console.log(`soak: ${cases.length} call kinds, up to ${totalCalls} calls or ${budgetSeconds} s, ${maxInFlight} async in flight; ` +
  `backend ${b.name} (${b.simd}), ${b.threads} threads/call, ${b.maxConcurrentCalls} concurrent calls, node ${process.version}`);
console.log(`  kinds: ${cases.map((c) => c.name).join(' ')}`);
process.on('unhandledRejection', (e) => fail(`unhandled rejection: ${e?.stack ?? e}`));

const s = await soak();
const rssGrowth = s.final.rss - s.baseline?.rss, abGrowth = s.final.ab - s.baseline?.ab;
if (s.baseline) {
  const slope = rssSlope(s.samples);
  console.log(`  ${s.calls} calls in ${s.seconds.toFixed(1)} s: ${Math.round(s.calls / s.seconds)} calls/s`);
  console.log(`  rss:          baseline ${mb(s.baseline.rss)} MB, final ${mb(s.final.rss)} MB, peak ${mb(s.peak.rss)} MB, growth ${signedMb(rssGrowth)} MB (bound ${RSS_BOUND_MB}); trend ${Number.isNaN(slope) ? 'n/a' : `${slope.toFixed(2)} MB/min`} over ${s.samples.length} samples`);
  console.log(`  arrayBuffers: baseline ${mb(s.baseline.ab)} MB, final ${mb(s.final.ab)} MB, peak ${mb(s.peak.ab)} MB, growth ${signedMb(abGrowth)} MB (bound ${ARRAY_BUFFERS_BOUND_MB})`);
  const checked = cases.filter((c) => c.calls > 0).length;
  console.log(`  call kinds run: ${checked} of ${cases.length}, each checked on its first call and on every ${CHECK_EVERY}th call`);
  if (rssGrowth > RSS_BOUND_MB * MB) fail(`rss grew by ${mb(rssGrowth)} MB after warm-up (bound ${RSS_BOUND_MB} MB)`);
  if (abGrowth > ARRAY_BUFFERS_BOUND_MB * MB) fail(`arrayBuffers grew by ${mb(abGrowth)} MB after warm-up (bound ${ARRAY_BUFFERS_BOUND_MB} MB)`);
}

let burstResult = null;
if (!failure && burstCalls > 0) {
  const r = (burstResult = await burst(burstCalls));
  console.log(`  burst: ${r.count} conv1x1Async calls launched in ${r.launchedMs.toFixed(0)} ms, all settled in ${r.seconds.toFixed(2)} s (${Math.round(r.count / r.seconds)} calls/s)`);
  console.log(`  burst queue: ${r.served} served, ${r.queueFull} refused with ERR_QUEUE_FULL (limits ${r.limits.maxCalls} calls, ${mb(r.limits.maxBytes)} MB: ` +
    `${r.admitted} admitted at once); peak ${r.peakQueue} in flight, ${r.queueAfter.calls} after`);
  console.log(`  burst rss:          before ${mb(r.before.rss)} MB, peak ${mb(r.peak.rss)} MB (bound ${BURST_RSS_BOUND_MB}), after gc ${mb(r.after.rss)} MB`);
  console.log(`  burst arrayBuffers: before ${mb(r.before.ab)} MB, peak ${mb(r.peak.ab)} MB, after gc ${mb(r.after.ab)} MB`);
  if (r.other) fail(`burst: a call rejected with something else than ERR_QUEUE_FULL: ${r.other?.code ?? ''} ${r.other?.stack ?? r.other}`);
  else if (r.served + r.queueFull !== r.count) fail(`burst: ${r.served} served + ${r.queueFull} refused of ${r.count} calls`);
  if (r.served < r.admitted) fail(`burst: ${r.served} calls served, fewer than the ${r.admitted} the queue's bound admits`);
  if (r.peakQueue > r.limits.maxCalls) fail(`burst: ${r.peakQueue} calls in flight, over the bound of ${r.limits.maxCalls}`);
  if (r.queueAfter.calls !== 0 || r.queueAfter.bytes !== 0) fail(`burst: the queue still counts ${r.queueAfter.calls} calls, ${r.queueAfter.bytes} bytes after every call settled`);
  if (r.wrong) fail(`burst: ${r.wrong}`);
  if (r.peak.rss > BURST_RSS_BOUND_MB * MB) fail(`burst: peak rss ${mb(r.peak.rss)} MB (bound ${BURST_RSS_BOUND_MB} MB)`);
}

if (failure) {
  console.error(`soak: FAILED: ${failure}`);
  process.exit(1);
}
const burstText = burstResult
  ? `, burst of ${burstResult.count}: ${burstResult.served} served, ${burstResult.queueFull} ERR_QUEUE_FULL, peak RSS ${mb(burstResult.peak.rss)} MB (bound ${BURST_RSS_BOUND_MB})`
  : ', no burst';
console.log(`soak: ${s.calls} calls in ${s.seconds.toFixed(1)} s, rss ${signedMb(rssGrowth)} MB after warm-up (bound ${RSS_BOUND_MB}), ` +
  `arrayBuffers ${signedMb(abGrowth)} MB${burstText}`);
