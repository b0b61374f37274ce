// The public API of the installed package, checked from a project that installed the packed tarball.
// scripts/pack-smoke.sh copies this file into that project, so that 'conv1x1' resolves to its
// node_modules/ and not to this repository (a package can import itself by name).
// Usage: node smoke.mjs --expect-backend <name> [--save <file.json> | --compare <file.json>]
//   --save writes the numeric results; --compare checks them against a run on another backend.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { 'expect-backend': { type: 'string' }, save: { type: 'string' }, compare: { type: 'string' } },
});
const expectedBackend = args['expect-backend'];
if (!expectedBackend) throw new Error('usage: node smoke.mjs --expect-backend <name> [--save|--compare <file>]');

const project = process.cwd();
const packageDir = path.join(project, 'node_modules', 'conv1x1');
const platformDir = path.join(packageDir, 'prebuilds', `${process.platform}-${process.arch}`);
const require = createRequire(path.join(project, 'smoke.mjs'));
const cjs = require('conv1x1');
const esm = await import('conv1x1');
const { Conv1x1, Conv1x1Error, ErrorCodes, Tensor } = cjs;

let passed = 0;
let failed = 0;
// A check passes when its body returns (a string it returns is printed after the name).
async function check(name, body) {
  try {
    const detail = await body();
    passed++;
    console.log(`ok    ${name}${detail ? `: ${detail}` : ''}`);
  } catch (error) {
    failed++;
    console.log(`FAIL  ${name}: ${error?.message ?? error}`);
  }
}
function expect(condition, message) {
  if (!condition) throw new Error(message);
}
function expectEqual(actual, expected, what) {
  expect(actual === expected, `${what} is ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

function expectError(error, Class, code) {
  expect(error !== undefined, 'nothing was thrown');
  expect(error instanceof Class, `threw ${error?.name}: ${error?.message}, not a ${Class.name}`);
  expectEqual(error.code, code, 'error.code');
}
function expectThrows(body, Class, code) {
  let thrown;
  try {
    body();
  } catch (error) {
    thrown = error;
  }
  expectError(thrown, Class, code);
  return thrown;
}
async function expectRejects(promise, Class, code) {
  let rejected;
  await promise.catch((error) => {
    rejected = error;
  });
  expectError(rejected, Class, code);
}

// Seeded uniform values in [-1, 1).
function randomFloats(count, seed) {
  const values = new Float32Array(count);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    values[i] = state / 2 ** 31 - 1;
  }
  return values;
}

const activations = {
  none: (v) => v,
  relu: (v) => Math.max(v, 0),
  leaky_relu: (v, slope) => (v < 0 ? v * slope : v),
};

// Float64 conv2d with a 1×1 kernel, and a tolerance per output that grows with K: a float32 sum of
// K products and a bias, in any order, is within about (K + 2)·2⁻²³·Σ|terms| of the exact value.
function referenceConv({ input, shape, weight, bias, stride = 1, padding = 0, groups = 1, layout = 'nchw',
  activation = 'none', negativeSlope = 0.01, outChannels }) {
  const [N, C, H, W] = layout === 'nhwc' ? [shape[0], shape[3], shape[1], shape[2]] : shape;
  const K = C / groups;
  const outPerGroup = outChannels / groups;
  const OH = Math.floor((H + 2 * padding - 1) / stride) + 1;
  const OW = Math.floor((W + 2 * padding - 1) / stride) + 1;
  const index = (n, c, h, w, CC, HH, WW) => (layout === 'nhwc' ? ((n * HH + h) * WW + w) * CC + c : ((n * CC + c) * HH + h) * WW + w);
  const value = new Float64Array(N * outChannels * OH * OW);
  const bound = new Float64Array(value.length);
  const act = activations[activation];
  for (let n = 0; n < N; n++) for (let o = 0; o < outChannels; o++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const ih = oh * stride - padding;
    const iw = ow * stride - padding;
    let sum = bias ? bias[o] : 0;
    let magnitude = Math.abs(sum);
    if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
      const firstChannel = Math.floor(o / outPerGroup) * K;
      for (let k = 0; k < K; k++) {
        const term = input[index(n, firstChannel + k, ih, iw, C, H, W)] * weight[o * K + k];
        sum += term;
        magnitude += Math.abs(term);
      }
    }
    const at = index(n, o, oh, ow, outChannels, OH, OW);
    value[at] = act(sum, negativeSlope);
    bound[at] = magnitude;
  }
  const outputShape = layout === 'nhwc' ? [N, OH, OW, outChannels] : [N, outChannels, OH, OW];
  const tolerance = Float64Array.from(bound, (b) => 2 * (K + 2) * 2 ** -23 * b);
  return { value, tolerance, outputShape };
}

function expectClose(actual, expected, tolerance, what) {
  expectEqual(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    expect(error <= tolerance[i], `${what}[${i}] = ${actual[i]}, expected ${expected[i]} ± ${tolerance[i]}`);
    if (tolerance[i] > 0) worst = Math.max(worst, error / tolerance[i]);
  }
  return worst;
}

function expectShape(tensor, shape, what) {
  expectEqual(JSON.stringify(tensor.shape), JSON.stringify(shape), `${what}.shape`);
}

// The numbers each run keeps per engine, so that a run on another backend can be compared with it.
const results = {};
function keep(name, engine, data, tolerance) {
  results[name] ??= {};
  results[name][engine] = { values: Array.from(data), tolerance: Array.from(tolerance) };
}

await check("'conv1x1' resolves to the installed package, for require and for import", () => {
  expectEqual(require.resolve('conv1x1'), path.join(packageDir, 'dist', 'index.js'), 'require.resolve');
  expectEqual(import.meta.resolve('conv1x1'), pathToFileURL(path.join(packageDir, 'dist', 'index.mjs')).href, 'import.meta.resolve');
});

await check('require and import give the same objects', () => {
  for (const name of ['conv1x1', 'conv1x1Async', 'Conv1x1', 'Tensor', 'backend', 'Conv1x1Error', 'ErrorCodes', 'loadModel', 'readNpy']) {
    expect(typeof cjs[name] !== 'undefined', `require('conv1x1').${name} is missing`);
    expect(esm[name] === cjs[name], `import('conv1x1').${name} is not require('conv1x1').${name}`);
  }
});

await check(`the native module loaded is the prebuild in prebuilds/${process.platform}-${process.arch}/`, () => {
  // What the process has mapped, not what a loader says it would pick.
  const mapped = new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\n')
    .map((line) => line.slice(line.indexOf('/')))
    .filter((file) => file.endsWith('.node')));
  expectEqual(mapped.size, 1, 'number of .node files mapped');
  const [loaded] = mapped;
  expectEqual(path.dirname(loaded), fs.realpathSync(platformDir), 'directory of the loaded .node');
  expect(!fs.existsSync(path.join(packageDir, 'build')), 'node_modules/conv1x1/build exists: the addon was compiled');
});

await check(`backend() is ${expectedBackend}`, () => {
  const info = cjs.backend();
  expectEqual(info.name, expectedBackend, 'backend().name');
  expect(info.available.includes('builtin'), `backend().available is [${info.available}], without builtin`);
  expect(typeof info.simd === 'string' && info.simd.length > 0, `backend().simd is ${info.simd}`);
  expect(Number.isInteger(info.cores) && info.cores >= 1, `backend().cores is ${info.cores}`);
  if (expectedBackend === 'builtin') {
    expectEqual(info.path, null, 'backend().path');
    expect(typeof info.note === 'string' && info.note.length > 0, 'backend().note does not say why no BLAS is used');
  } else {
    expect(typeof info.path === 'string' && info.path.includes(expectedBackend), `backend().path is ${info.path}`);
    expect(info.available.includes('blas'), `backend().available is [${info.available}], without blas`);
  }
  return `${info.path ?? info.note}; simd ${info.simd}, kernels ${info.kernels}`;
});

// With a BLAS, every numeric check runs twice: 'auto' (per shape, mostly the builtin kernels) and
// 'blas' forced, so that the BLAS path itself is checked too. Without one, 'auto' is refused.
const engines = expectedBackend === 'builtin' ? ['builtin'] : ['auto', 'blas'];

if (expectedBackend === 'builtin') {
  await check("setEngine('blas') with no BLAS throws RangeError ERR_INVALID_ARG_VALUE", () => {
    expectThrows(() => cjs.setEngine('blas'), RangeError, 'ERR_INVALID_ARG_VALUE');
  });
}

// K (input channels per group) from 3 to 1024, both layouts, stride, padding, groups, activations.
const convCases = [
  { name: 'K=3 nchw with bias', shape: [2, 3, 5, 7], outChannels: 4, bias: true },
  { name: 'K=64 nchw stride 2 padding 1 relu', shape: [1, 64, 9, 9], outChannels: 48, bias: true, stride: 2, padding: 1, activation: 'relu' },
  { name: 'K=150 nhwc groups 2 leaky_relu', shape: [2, 4, 6, 300], outChannels: 20, bias: true, groups: 2, layout: 'nhwc', activation: 'leaky_relu', negativeSlope: 0.1 },
  { name: 'K=1024 nchw', shape: [1, 1024, 4, 4], outChannels: 16, bias: false },
];
for (const engine of engines) {
  cjs.setEngine(engine);
  for (const [caseIndex, c] of convCases.entries()) {
    const channels = c.layout === 'nhwc' ? c.shape[3] : c.shape[1];
    const groups = c.groups ?? 1;
    const input = randomFloats(c.shape.reduce((a, b) => a * b, 1), 100 + caseIndex);
    const weight = randomFloats(c.outChannels * (channels / groups), 200 + caseIndex);
    const bias = c.bias ? randomFloats(c.outChannels, 300 + caseIndex) : null;
    const options = { stride: c.stride, padding: c.padding, groups: c.groups, layout: c.layout, activation: c.activation, negativeSlope: c.negativeSlope };
    for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key];
    if (bias) options.bias = bias;
    const want = referenceConv({ input, shape: c.shape, weight, bias, outChannels: c.outChannels, ...options });
    const x = new Tensor(input, c.shape);
    const w = new Tensor(weight, [c.outChannels, channels / groups]);

    await check(`conv1x1 ${c.name} vs float64, engine ${engine}`, () => {
      const y = cjs.conv1x1(x, w, options);
      expectShape(y, want.outputShape, 'result');
      const worst = expectClose(y.data, want.value, want.tolerance, 'result');
      keep(`conv1x1 ${c.name}`, engine, y.data, want.tolerance);
      return `largest error ${(worst * 100).toFixed(1)}% of the tolerance`;
    });
    await check(`conv1x1Async ${c.name} vs float64, engine ${engine}`, async () => {
      const y = await esm.conv1x1Async(x, w, options);
      expectShape(y, want.outputShape, 'result');
      expectClose(y.data, want.value, want.tolerance, 'result');
    });
  }
}

{
  const [inChannels, outChannels, shape] = [64, 32, [2, 64, 7, 7]];
  const input = randomFloats(shape.reduce((a, b) => a * b, 1), 400);
  const weight = randomFloats(outChannels * inChannels, 401);
  const bias = randomFloats(outChannels, 402);
  const want = referenceConv({ input, shape, weight, bias, outChannels, activation: 'relu' });
  const layer = new Conv1x1({ inChannels, outChannels, weight: new Tensor(weight, [outChannels, inChannels, 1, 1]), bias, activation: 'relu' });
  const x = new Tensor(input, shape);

  for (const engine of engines) {
    cjs.setEngine(engine);
    await check(`Conv1x1 layer forward vs float64, engine ${engine}`, () => {
      const runsOn = layer.backend(shape);
      if (engine === 'blas') expectEqual(runsOn, expectedBackend, 'layer.backend(inputShape)');
      const y = layer.forward(x);
      expectShape(y, want.outputShape, 'forward()');
      expectClose(y.data, want.value, want.tolerance, 'forward()');
      keep('Conv1x1 forward', engine, y.data, want.tolerance);
      return `runs on ${runsOn}`;
    });
    await check(`Conv1x1 layer forwardAsync vs float64, engine ${engine}`, async () => {
      const y = await layer.forwardAsync(x);
      expectShape(y, want.outputShape, 'forwardAsync()');
      expectClose(y.data, want.value, want.tolerance, 'forwardAsync()');
    });
  }
  cjs.setEngine(engines[0]);
  await check('Conv1x1 layer forward into out', () => {
    const out = Tensor.zeros(want.outputShape);
    layer.forward(x, out);
    expectClose(out.data, want.value, want.tolerance, 'out');
  });
  await check('Conv1x1 layer after close() throws Conv1x1Error ERR_CLOSED', async () => {
    await layer.close();
    expectThrows(() => layer.forward(x), Conv1x1Error, 'ERR_CLOSED');
    await expectRejects(layer.forwardAsync(x), Conv1x1Error, 'ERR_CLOSED');
  });
}

{
  const x = new Tensor(randomFloats(2 * 5 * 3 * 3, 500), [2, 5, 3, 3]);
  const w = new Tensor(randomFloats(4 * 3, 501), [4, 3]);
  await check('channel mismatch throws Conv1x1Error ERR_SHAPE_MISMATCH', () => {
    expectEqual(ErrorCodes.SHAPE_MISMATCH, 'ERR_SHAPE_MISMATCH', 'ErrorCodes.SHAPE_MISMATCH');
    const error = expectThrows(() => cjs.conv1x1(x, w), esm.Conv1x1Error, 'ERR_SHAPE_MISMATCH');
    expectEqual(error.name, 'Conv1x1Error', 'error.name');
  });
  await check('channel mismatch in conv1x1Async rejects (no synchronous throw)', async () => {
    let promise;
    try {
      promise = cjs.conv1x1Async(x, w);
    } catch (error) {
      throw new Error(`threw synchronously: ${error.message}`);
    }
    await expectRejects(promise, Conv1x1Error, 'ERR_SHAPE_MISMATCH');
  });
  await check("misspelled option { group: 1 } throws TypeError ERR_UNKNOWN_OPTION naming 'groups'", () => {
    const error = expectThrows(() => cjs.conv1x1(x, w, { group: 1 }), TypeError, 'ERR_UNKNOWN_OPTION');
    expect(error.message.includes("'groups'"), `message does not suggest 'groups': ${error.message}`);
  });
  await check('stride 0 throws RangeError ERR_OUT_OF_RANGE', () => {
    expectThrows(() => cjs.conv1x1(new Tensor(randomFloats(2 * 3 * 3 * 3, 502), [2, 3, 3, 3]), w, { stride: 0 }), RangeError, 'ERR_OUT_OF_RANGE');
  });
}
// The command line, through the bin link that npm made (npx --no: never fetch anything).
function runCli(cliArgs) {
  const result = spawnSync('npx', ['--no', 'conv1x1', ...cliArgs], { cwd: project, encoding: 'utf8' });
  if (result.error) throw result.error;
  return result;
}
const installedVersion = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')).version;

await check('conv1x1 info: exit 0, installed version and backend', () => {
  const { status, stdout, stderr } = runCli(['info']);
  expectEqual(status, 0, `exit code (stderr: ${stderr.trim()})`);
  expectEqual(/^conv1x1\s+(\S+)$/m.exec(stdout)?.[1], installedVersion, 'version line');
  expectEqual(/^backend\s+(\S+)$/m.exec(stdout)?.[1], expectedBackend, 'backend line');
});

await check('conv1x1 extract (the demo, embedded model, generated inputs): exit 0, [5, 256] features', () => {
  const { status, stdout, stderr } = runCli(['extract', '--items', '5', '--size', '12', '--batch', '2']);
  expectEqual(status, 0, `exit code (stderr: ${stderr.trim()})`);
  expect(/^extract: 5 inputs .*features \[5, 256\]/m.test(stdout), `unexpected output: ${stdout.trim()}`);
});

await check('conv1x1 extract --input --out: the embedded model, same features as loadModel().forward()', () => {
  const shape = [3, 32, 10, 10];
  const input = new Tensor(randomFloats(shape.reduce((a, b) => a * b, 1), 600), shape);
  const inputFile = path.join(project, 'inputs.npy');
  const featuresFile = path.join(project, 'features.npy');
  fs.rmSync(featuresFile, { force: true });
  cjs.saveNpy(inputFile, input);
  const { status, stdout, stderr } = runCli(['extract', '--input', inputFile, '--out', featuresFile, '--batch', '3']);
  expectEqual(status, 0, `exit code (stderr: ${stderr.trim()})`);
  expect(/^extract: 3 inputs .*features \[3, 256\] written to /m.test(stdout), `unexpected output: ${stdout.trim()}`);
  const features = cjs.readNpy(fs.readFileSync(featuresFile));
  expectShape(features, [3, 256], 'features');

  const models = path.join(packageDir, 'dist', 'models');
  const model = cjs.loadModel(path.join(models, 'default-head.json'), path.join(models, 'default-head.safetensors'));
  const want = model.forward(input);
  const scale = want.data.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
  expect(scale > 0, 'the model gives all-zero features');
  const tolerance = new Float64Array(want.data.length).fill(1e-5 * scale);
  expectClose(features.data, want.data, tolerance, 'features');
  keep('extract features', 'auto', features.data, new Float64Array(want.data.length).fill(1e-4 * scale));
});

await check('conv1x1 extract --batch 0: exit 2 with a usage error', () => {
  const { status, stderr } = runCli(['extract', '--batch', '0']);
  expectEqual(status, 2, 'exit code');
  expect(stderr.includes('--batch must be a positive integer'), `stderr: ${stderr.trim()}`);
});

await check('conv1x1 extract --input <missing file>: exit 1', () => {
  const { status, stderr } = runCli(['extract', '--input', path.join(project, 'no-such-input.npy')]);
  expectEqual(status, 1, 'exit code');
  expect(stderr.startsWith('conv1x1: '), `stderr: ${stderr.trim()}`);
});

// bullmq and ioredis are optional peer dependencies: a plain install has neither, and the library,
// the demo and extract must not need them; the scale-out commands say how to get them.
await check('no bullmq or ioredis installed; conv1x1 worker: exit 2, says to install them', () => {
  for (const name of ['bullmq', 'ioredis']) {
    expect(!fs.existsSync(path.join(project, 'node_modules', name)), `${name} was installed with the package`);
  }
  const { status, stderr } = runCli(['worker', '--redis', 'redis://127.0.0.1:1', '--queue', 'q']);
  expectEqual(status, 2, `exit code (stderr: ${stderr.trim()})`);
  expect(stderr.includes('npm install bullmq ioredis'), `stderr: ${stderr.trim()}`);
});

if (args.save) fs.writeFileSync(args.save, JSON.stringify(results));
if (args.compare) {
  await check(`same numbers as the run saved in ${path.basename(args.compare)}`, () => {
    const saved = JSON.parse(fs.readFileSync(args.compare, 'utf8'));
    expectEqual(Object.keys(results).join(', '), Object.keys(saved).join(', '), 'results');
    let worst = 0;
    let pairs = 0;
    for (const [name, byEngine] of Object.entries(results)) {
      for (const [engine, { values, tolerance }] of Object.entries(byEngine)) {
        for (const [savedEngine, other] of Object.entries(saved[name])) {
          // Each run is within its tolerance of the exact value, so the two are within both tolerances.
          const both = tolerance.map((t, i) => t + other.tolerance[i]);
          worst = Math.max(worst, expectClose(values, other.values, both, `${name}, engine ${engine} vs saved ${savedEngine}`));
          pairs++;
        }
      }
    }
    return `${pairs} pairs of results, largest difference ${(worst * 100).toFixed(1)}% of the tolerance`;
  });
}

console.log(`pack smoke (${expectedBackend}): ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
