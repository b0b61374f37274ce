// `npm run demo`: the main job in miniature. A ResNet-50 bottleneck expansion layer (1×1 conv,
// 64 → 256 channels on 56×56, bias + ReLU) with fixed seeded weights runs on a batch of 8 images,
// synchronously and then asynchronously with several batches in flight; prints shape, backend, time
// and GFLOP/s, and checks sampled outputs of the async result against a float64 evaluation.
import { backend, Conv1x1, Tensor } from '../index';

const BATCH = 8, IN = 64, OUT = 256, SIZE = 56, REPEATS = 10;

function seeded(count: number, seed: number, scale: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = (state / 2 ** 32 - 0.5) * 2 * scale;
  }
  return out;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function maxSampledError(input: Tensor, weight: Float32Array, bias: Float32Array, output: Tensor): number {
  const pixels = SIZE * SIZE;
  let worst = 0;
  for (let s = 0; s < 256; s++) {
    const n = s % BATCH, o = (s * 37) % OUT, p = (s * 7919) % pixels;
    let sum = bias[o];
    for (let c = 0; c < IN; c++) sum += input.data[(n * IN + c) * pixels + p] * weight[o * IN + c];
    const expected = Math.max(sum, 0);
    worst = Math.max(worst, Math.abs(output.data[(n * OUT + o) * pixels + p] - expected));
  }
  return worst;
}

async function main(): Promise<void> {
  const info = backend();
  const weight = seeded(OUT * IN, 1, Math.sqrt(2 / IN));
  const bias = seeded(OUT, 2, 0.1);
  const layer = new Conv1x1({
    inChannels: IN,
    outChannels: OUT,
    weight: { data: weight, shape: [OUT, IN, 1, 1] },
    bias,
    activation: 'relu',
  });
  const input = new Tensor(seeded(BATCH * IN * SIZE * SIZE, 3, 1), [BATCH, IN, SIZE, SIZE]);
  const out = Tensor.zeros(layer.outputShape(input.shape));
  const flops = 2 * BATCH * OUT * IN * SIZE * SIZE;

  layer.forward(input, out);  // warm-up
  const syncTimes: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const start = process.hrtime.bigint();
    layer.forward(input, out);
    syncTimes.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  // Async as a server uses it: several batches in flight, each with a fresh output.
  const asyncTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = process.hrtime.bigint();
    const results = await Promise.all(Array.from({ length: REPEATS }, () => layer.forwardAsync(input)));
    asyncTimes.push(Number(process.hrtime.bigint() - start) / 1e6 / REPEATS);
    if (i === 2) out.data.set(results[REPEATS - 1].data);
  }
  const error = maxSampledError(input, weight, bias, out);

  const where = info.path ? `${info.name} (${info.path}${info.version ? `, ${info.version}` : ''})` : info.name;
  console.log('conv1x1 demo: ResNet-50 bottleneck 1×1 conv 64→256, bias + ReLU');
  console.log(`  backend   ${where}; CPU ${info.simd}; ${info.threads} thread(s) per call`);
  console.log(`  input     [${input.shape.join(', ')}]  →  output [${out.shape.join(', ')}]`);
  const report = (label: string, ms: number, how: string) =>
    console.log(`  ${label}     ${ms.toFixed(2)} ms per batch (${how}), ${(flops / ms / 1e6).toFixed(1)} GFLOP/s`);
  report('sync ', median(syncTimes), `median of ${REPEATS}, into a reused output`);
  report('async', median(asyncTimes), `${REPEATS} batches in flight, new outputs; median of 3 rounds`);
  console.log(`  check     max |error| on 256 sampled outputs vs float64: ${error.toExponential(2)}`);
  if (!(error < 1e-3)) {
    console.error('conv1x1 demo: the result does not match the float64 reference');
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
