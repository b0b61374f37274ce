// The core-overhead benchmark: the ResNet-50 bottleneck layer (N=1, 56×56, 64→256) through conv1x1 on
// each backend, at 1 and 2 threads, against the floor of raw BLAS (cblas_sgemm on the same GEMM, timed
// in C with no JS). Rounds alternate conv1x1 and the floor so machine drift hits both; each figure is
// the median over rounds of per-round medians. Run: `npm run bench:core` (after `npm ci`).
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

import { blasFloor } from './blas-floor.mjs';
import { median } from './stats.mjs';

const require = createRequire(import.meta.url);
const { Conv1x1, Tensor, backend, setThreads } = require('../dist/index.js');
const { selectBackend, availableBackends } = require('../dist/internal.js');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const REPS = Number(process.env.BENCH_REPS ?? 100);
const [N, CIN, COUT, H, W] = [1, 64, 256, 56, 56];
const FLOPS = 2 * N * COUT * CIN * H * W;

const gflops = (ms) => FLOPS / ms / 1e6;

function seeded(count, seed) {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  });
}

function timeLayer(layer, input, out) {
  for (let i = 0; i < 5; i++) layer.forward(input, out);
  const times = [];
  for (let i = 0; i < REPS; i++) {
    const start = process.hrtime.bigint();
    layer.forward(input, out);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(times);
}

async function main() {
  const info = backend();
  const weight = { data: seeded(COUT * CIN, 1), shape: [COUT, CIN] };
  const bias = seeded(COUT, 2);
  const input = new Tensor(seeded(N * CIN * H * W, 3), [N, CIN, H, W]);
  const out = Tensor.zeros([N, COUT, H, W]);
  const plain = new Conv1x1({ inChannels: CIN, outChannels: COUT, weight });
  const withBias = new Conv1x1({ inChannels: CIN, outChannels: COUT, weight, bias });
  const fused = new Conv1x1({ inChannels: CIN, outChannels: COUT, weight, bias, activation: 'relu' });
  const backends = availableBackends();
  const hasFloor = backends.includes('blas') && info.name === 'openblas';

  console.log(`ResNet-50 bottleneck 1×1 conv, N=${N} ${H}×${W} ${CIN}→${COUT} (${(FLOPS / 1e6).toFixed(0)} MFLOP), ` +
    `${ROUNDS} rounds × ${REPS} calls`);
  console.log(`BLAS: ${info.path ?? 'none'} ${info.version ?? ''}; CPU ${info.simd}; ${info.cores} cores`);
  const rows = [];
  for (const threads of [1, 2]) {
    setThreads(threads);
    const samples = {};
    const add = (key, ms) => (samples[key] ??= []).push(ms);
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of backends) {
        selectBackend(kind);
        await sleep(120);  // let the previous runner's spinning threads go idle
        add(`${kind} conv`, timeLayer(plain, input, out));
        add(`${kind} conv+bias`, timeLayer(withBias, input, out));
        add(`${kind} conv+bias+relu`, timeLayer(fused, input, out));
      }
      if (hasFloor) {
        await sleep(120);
        const [floor] = await blasFloor({ shapes: [[COUT, H * W, CIN]], threads, reps: REPS, warmup: 5, library: info.path });
        add('raw cblas_sgemm (C)', floor.median_ms);
      }
    }
    const floorMs = hasFloor ? median(samples['raw cblas_sgemm (C)']) : null;
    for (const [name, values] of Object.entries(samples)) {
      const ms = median(values);
      rows.push({ threads, name, ms, gflops: gflops(ms), vsFloor: floorMs ? floorMs / ms : null,
        spread: `${Math.min(...values).toFixed(3)}–${Math.max(...values).toFixed(3)}` });
    }
  }
  console.log('\nthreads  runner                     median ms   GFLOP/s   speed vs raw BLAS   round medians (min–max ms)');
  for (const row of rows) {
    console.log(`${String(row.threads).padEnd(9)}${row.name.padEnd(27)}${row.ms.toFixed(3).padStart(9)}   ` +
      `${row.gflops.toFixed(1).padStart(7)}   ${row.vsFloor ? row.vsFloor.toFixed(3).padStart(17) : '—'.padStart(17)}   ${row.spread}`);
  }
  console.log('\n"speed vs raw BLAS" = raw cblas_sgemm time / conv1x1 time: 1.000 means no overhead; above 0.909 is within 10%.');
}

await main();
