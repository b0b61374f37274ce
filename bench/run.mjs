// `npm run bench [-- --quick] [-- --only TEXT]`: every competitor on every shape of bench/shapes.mjs
// (or the shapes whose label contains TEXT), in one run, with a report (Markdown, JSON, SVG chart) in
// bench/results/.
// Method: each competitor's output is checked against a float64 reference before it is timed; then
// rounds interleave the competitors (A B C … A B C …) so that machine drift hits all alike; each round
// times a batch of calls and keeps the median; a figure is the median of its rounds. Before a batch at
// 2 threads the runner idles 120 ms: onnxruntime's pool threads busy-spin after a call, and would take
// a core from whoever runs next on a 2-core machine. After the idle, untimed warm-up calls come first:
// on this VM an idle core takes tens of milliseconds to come back to speed, whoever's thread wakes it.
// The targets (bench/targets.mjs) compare each round's figures (a ratio per round, then its median,
// so that drift cancels), with the practical peak for the compute-bound shapes timed in their own
// rounds; they are stored in the JSON and the Markdown, and printed last.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { blasFloor } from './blas-floor.mjs';
import { competitorsFor, peerVersions } from './competitors.mjs';
import { writeReport } from './report.mjs';
import { QUICK_IDS, SHAPES } from './shapes.mjs';
import { median } from './stats.mjs';
import { COMPUTE_BOUND, checkTargets, targetLines } from './targets.mjs';
import { checkOutput, makeData } from './verify.mjs';

const require = createRequire(import.meta.url);
const conv = require('../dist/index.js');
const { selectBackend } = require('../dist/internal.js');

const quick = process.argv.includes('--quick');
const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex >= 0 ? process.argv[onlyIndex + 1] : undefined;
if (onlyIndex >= 0 && !only) throw new Error('--only needs the text of a shape label, e.g. --only "down"');
const ROUNDS = quick ? 3 : 5;
const BATCH_SECONDS = quick ? 0.015 : 0.03;
const IDLE_MS = 120;

const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))];

// Untimed calls for WARMUP_MS (at least two): long enough for an idle core to come back to speed.
const WARMUP_MS = 60;
async function warmUp(competitor) {
  const end = performance.now() + WARMUP_MS;
  let calls = 0;
  while ((performance.now() < end || calls < 2) && calls < (competitor.maxCalls ?? Infinity)) {
    await competitor.run();
    calls++;
  }
}

async function timeBatch(run, calls) {
  const times = [];
  for (let i = 0; i < calls; i++) {
    const start = process.hrtime.bigint();
    await run();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times;
}

function cpuFlags() {
  try {
    const flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:\s*(.*)$/m)?.[1].split(/\s+/) ?? [];
    return ['avx512f', 'avx512_bf16', 'amx_tile', 'avx2', 'fma', 'sse2'].filter((f) => flags.includes(f));
  } catch {
    return [];
  }
}

// A compute-bound shape's rounds also time the practical peak (one 2048³ sgemm at each thread count),
// so that (d) compares each round of ours with the peak measured next to it.
async function peakProbe(threads) {
  try {
    const [r] = await blasFloor({ shapes: [[2048, 2048, 2048]], threads, reps: 1, warmup: 1 });
    return r.gflops;
  } catch {
    return null;
  }
}

async function benchShape(shape, results, skipped, peakRounds) {
  const data = makeData(shape);
  const competitors = await competitorsFor(shape, data, skipped);
  // Correctness first: a wrong answer is not a result.
  const live = [];
  for (const c of competitors) {
    try {
      await c.setup?.();
      c.engineName = c.engine?.();
      // The raw-BLAS floor checks its own result, in C.
      const error = c.verifiedElsewhere ? null : checkOutput(shape, data, await c.output());
      if (error) {
        skipped.push({ competitor: c.id, shape: shape.id, reason: `wrong output: ${error}` });
        continue;
      }
      const t0 = process.hrtime.bigint();
      await c.run();
      c.estimateMs = Math.max(0.001, Number(process.hrtime.bigint() - t0) / 1e6);
      live.push(c);
    } catch (error) {
      skipped.push({ competitor: c.id, shape: shape.id, reason: String(error.message ?? error).split('\n')[0] });
    }
  }
  const samples = new Map(live.map((c) => [c, { rounds: [], all: [] }]));
  const probes = COMPUTE_BOUND.includes(shape.label) && conv.backend().available.includes('blas')
    ? { threads1: [], threads2: [] } : null;
  for (let round = 0; round < ROUNDS; round++) {
    if (probes) {
      for (const threads of [1, 2]) {
        const gflops = await peakProbe(threads);
        if (gflops) probes[`threads${threads}`].push(gflops);
      }
    }
    for (const c of live) {
      await c.setup?.();
      if (c.threads > 1) await sleep(IDLE_MS);
      const s = samples.get(c);
      if (!c.timeRound) await warmUp(c);
      if (c.timeRound) {
        const ms = await c.timeRound(BATCH_SECONDS);
        s.rounds.push(ms);
        s.all.push(ms);
      } else {
        const calls = Math.max(c.minCalls ?? 3, Math.min(200, Math.ceil((BATCH_SECONDS * 1000) / c.estimateMs)));
        const times = await timeBatch(c.run, Math.min(calls, c.maxCalls ?? 200));
        s.rounds.push(median(times));
        s.all.push(...times);
      }
    }
  }
  for (const c of live) {
    const s = samples.get(c);
    const ms = median(s.rounds);
    results.push({
      shape: shape.id, competitor: c.id, medianMs: ms, p10Ms: percentile(s.all, 0.1), p90Ms: percentile(s.all, 0.9),
      gflops: shape.flops / ms / 1e6, samples: s.all.length, roundMs: s.rounds,
      ...(c.engineName ? { engine: c.engineName } : {}),
    });
    await c.close?.();
  }
  if (probes) peakRounds[shape.id] = probes;
  return competitors.map(({ id, label, threads, ours }) => ({ id, label, threads, ours }));
}

// Per-call cost of tiny layers, async throughput with several callers, and the event loop meanwhile.
async function extras(quickMode) {
  const { Conv1x1, Tensor, setThreads } = conv;
  // The process's default selection (per shape when a BLAS loaded) at the default threads, as a user gets.
  const kind = conv.backend().available.includes('blas') ? 'auto' : 'builtin';
  selectBackend(kind);
  setThreads(os.availableParallelism());
  const overhead = [];
  for (const [label, c, hw] of [['8² 16→16', 16, 8], ['Linear 512→512 (1×1 conv on 1 pixel)', 512, 1]]) {
    const layer = new Conv1x1({ inChannels: c, outChannels: c, weight: { data: new Float32Array(c * c).fill(0.01), shape: [c, c] } });
    const x = new Tensor(new Float32Array(c * hw * hw).fill(1), [1, c, hw, hw]);
    const out = Tensor.zeros([1, c, hw, hw]);
    for (let i = 0; i < 200; i++) layer.forward(x, out);
    const sync = await timeBatch(() => layer.forward(x, out), 2000);
    const async = await timeBatch(() => layer.forwardAsync(x), quickMode ? 500 : 2000);
    overhead.push({ label: `${label}, ${layer.backend(x.shape)}`, syncUs: median(sync) * 1000, asyncUs: median(async) * 1000 });
  }
  const [cin, cout, hw] = [1024, 256, 14];
  const flops = 2 * cin * cout * hw * hw;
  const layer = new Conv1x1({ inChannels: cin, outChannels: cout, weight: { data: new Float32Array(cin * cout).fill(0.001), shape: [cout, cin] } });
  const x = new Tensor(new Float32Array(cin * hw * hw).fill(1), [1, cin, hw, hw]);
  const throughput = [];
  let eventLoopDelay = null;
  for (const inFlight of [1, 2, 4, 16]) {
    const monitor = inFlight === 16 ? monitorEventLoopDelay({ resolution: 1 }) : null;
    monitor?.enable();
    const end = performance.now() + (quickMode ? 500 : 1500);
    let calls = 0;
    const start = performance.now();
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        await layer.forwardAsync(x);
        calls++;
      }
    }));
    const seconds = (performance.now() - start) / 1000;
    throughput.push({ inFlight, callsPerSecond: calls / seconds, gflops: (calls * flops) / seconds / 1e9 });
    if (monitor) {
      monitor.disable();
      eventLoopDelay = {
        p50Ms: monitor.percentile(50) / 1e6, p99Ms: monitor.percentile(99) / 1e6, maxMs: monitor.max / 1e6,
        during: `16 async calls in flight of 14² 1024→256 (${(flops / 1e6).toFixed(0)} MFLOP each), ${layer.backend(x.shape)}`,
      };
    }
  }
  // Peak RSS of the N=32 case, in a process of its own.
  const rss = spawnSync(process.execPath, ['-e', `
    const { Conv1x1, Tensor } = require(${JSON.stringify(new URL('../dist/index.js', import.meta.url).pathname)});
    const layer = new Conv1x1({ inChannels: 512, outChannels: 2048, weight: { data: new Float32Array(512 * 2048).fill(0.001), shape: [2048, 512] }, bias: new Float32Array(2048) });
    const x = new Tensor(new Float32Array(32 * 512 * 49).fill(1), [32, 512, 7, 7]);
    for (let i = 0; i < 5; i++) layer.forward(x);
    console.log(process.resourceUsage().maxRSS / 1024);`], { encoding: 'utf8' });
  return { overhead, throughput, eventLoopDelay, peakRssMb: Number(rss.stdout.trim()) };
}

async function main() {
  const started = Date.now();
  const info = conv.backend();
  const shapes = SHAPES.filter((s) => (!quick || QUICK_IDS.has(s.id)) && (!only || s.label.includes(only)));
  if (!shapes.length) throw new Error(`--only ${JSON.stringify(only)}: no shape label contains it`);
  const results = [];
  const skipped = [];
  const peakRounds = {};
  let competitors = [];
  for (const shape of shapes) {
    process.stderr.write(`bench: ${shape.label} (${(shape.flops / 1e6).toFixed(1)} MFLOP)\n`);
    const seen = await benchShape(shape, results, skipped, peakRounds);
    for (const c of seen) if (!competitors.some((k) => k.id === c.id)) competitors.push(c);
  }
  process.stderr.write(only ? 'bench: practical peak\n' : 'bench: overhead, throughput, event loop, peak RSS, practical peak\n');
  // A run of some shapes skips the whole-library figures (overhead, throughput, event loop, RSS).
  const extra = only ? {} : await extras(quick);
  const peak = {};
  for (const threads of [1, 2]) {
    try {
      const [r] = await blasFloor({ shapes: [[2048, 2048, 2048]], threads, reps: quick ? 3 : 10, warmup: 1 });
      peak[`threads${threads}`] = r.gflops;
    } catch (error) {
      peak[`threads${threads}`] = null;
      skipped.push({ competitor: 'practical peak', reason: String(error.message ?? error).split('\n')[0] });
    }
  }
  const report = {
    meta: {
      date: new Date().toISOString(),
      command: `npm run bench${quick || only ? ' --' : ''}${quick ? ' --quick' : ''}${only ? ` --only ${JSON.stringify(only)}` : ''}`,
      quick,
      ...(only ? { only } : {}),
      machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.availableParallelism(), flags: cpuFlags(), os: `${os.type()} ${os.release()}`, node: process.version },
      libraries: { conv1x1: JSON.parse(readFileSync(new URL('../package.json', import.meta.url))).version, blas: info.version ?? info.name, ...(await peerVersions()) },
      peakGflops: peak,
    },
    shapes: shapes.map(({ id, label, group, flops, groups }) => ({ id, label, group, flops, groups })),
    competitors,
    results,
    peakRounds,
    skipped,
    extras: { ...extra, notes: [
      `conv1x1 backends: ${info.available.join(', ')}; default selection ${info.selection ?? 'unknown'}; SIMD ${info.simd}` +
        (info.kernels ? `, builtin kernels ${info.kernels}` : ''),
      'onnxruntime-node runs the NCHW Conv of NHWC shapes (standard ONNX has no NHWC Conv); transposes are outside the timing',
      'raw cblas_sgemm is timed in C (no JS); for batched NCHW shapes it is N single-image GEMMs',
      `wall time ${((Date.now() - started) / 1000).toFixed(0)} s`,
    ] },
  };
  report.targets = checkTargets(report);
  const paths = await writeReport(report);
  console.log(readFileSync(paths.markdownPath, 'utf8'));
  console.log(`written: ${paths.markdownPath}, ${paths.jsonPath}, ${paths.svgPath}`);
  console.log(`\ntargets (${report.targets.summary}):\n${targetLines(report.targets).map((line) => `  ${line}`).join('\n')}`);
}

await main();
