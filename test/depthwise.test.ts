// DepthwiseConv2d against a float64 oracle written here (direct loops with a bounds check per tap,
// as torch.nn.functional.conv2d with groups = C computes it), at 1 and 2 threads, sync and async:
// kernels 1–7, stride 1–3, padding 0–3, dilation 1–2, images smaller than the kernel, batch 1–3,
// every activation, views at a byteOffset, with and without `out`. Then every kind of bad input, by
// class and code, thrown by forward and rejected by forwardAsync; batch-norm folding, fromWeights,
// and worker_threads.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { backend, Conv1x1Error, setThreads, Tensor } from '../lib/index';
import { fuseBatchNorm } from '../lib/layers/batchnorm';
import { DepthwiseConv2d, type DepthwiseConv2dOptions } from '../lib/layers/depthwise';
import { DIST_ENTRY, requireBuiltPackage } from './package-helpers';
import {
  ALL_ACTIVATIONS,
  depthwiseExtent as extent,
  expectClose,
  referenceDepthwise,
  seededFloats,
  type DepthwiseCase as Case,
} from './reference';

function build(c: Case, seed: number, scale = 1) {
  const input = new Tensor(
    seededFloats(c.batch * c.channels * c.height * c.width, seed).map((v) => v * scale),
    [c.batch, c.channels, c.height, c.width],
  );
  const weight = new Tensor(seededFloats(c.channels * c.kernel[0] * c.kernel[1], seed + 1), [c.channels, 1, ...c.kernel]);
  const bias = seededFloats(c.channels, seed + 2).map((v) => v * scale);
  return { input, weight, bias };
}

function layerFor(c: Case, weight: Tensor, bias: Float32Array | null): DepthwiseConv2d {
  return new DepthwiseConv2d({
    channels: c.channels,
    kernelSize: c.kernel,
    stride: c.stride,
    padding: c.padding,
    dilation: c.dilation,
    weight,
    bias,
    activation: c.activation,
    negativeSlope: c.negativeSlope,
  });
}

/** Sync and async, with `out` and without, against the oracle; a case PyTorch refuses must be refused. */
async function check(c: Case, seed: number, label: string, withBias = true, scale = 1): Promise<'ran' | 'refused'> {
  const { input, weight, bias } = build(c, seed, scale);
  const b = withBias ? bias : null;
  const layer = layerFor(c, weight, b);
  const valid =
    extent(c.height, c.kernel[0], c.stride?.[0] ?? 1, c.padding?.[0] ?? 0, c.dilation?.[0] ?? 1) !== null &&
    extent(c.width, c.kernel[1], c.stride?.[1] ?? 1, c.padding?.[1] ?? 0, c.dilation?.[1] ?? 1) !== null;
  if (!valid) {
    expect(() => layer.forward(input), `${label}: sync`).toThrow(Conv1x1Error);
    await expect(layer.forwardAsync(input), `${label}: async`).rejects.toMatchObject({ code: 'ERR_SHAPE_MISMATCH' });
    return 'refused';
  }
  const ref = referenceDepthwise(c, input.data, weight.data, b);
  const sync = layer.forward(input);
  expect(sync.shape, `${label}: shape`).toEqual(ref.shape);
  expect(layer.outputShape(input.shape), `${label}: outputShape`).toEqual(ref.shape);
  expectClose(sync.data, ref, `${label} sync`);
  const async = await layer.forwardAsync(input);
  expect(async.data, `${label}: async = sync`).toEqual(sync.data);
  const out = Tensor.zeros(ref.shape);
  expect((await layer.forwardAsync(input, out)).data).toBe(out.data);
  expect(out.data, `${label}: async into out = sync`).toEqual(sync.data);
  return 'ran';
}

const initialThreads = backend().threads;
afterAll(() => setThreads(initialThreads));

describe.each([1, 2])('DepthwiseConv2d numerics, %i thread(s)', (threads) => {
  beforeAll(() => setThreads(Math.min(threads, backend().cores)));

  it('sweeps kernel 1–7 × stride 1–3 × padding 0–3 × dilation 1–2 over images from 1×1', async () => {
    const sizes = [1, 2, 3, 5, 8, 13, 20];
    let seed = 1, ran = 0, refused = 0;
    for (let kernel = 1; kernel <= 7; kernel++) {
      for (const stride of [1, 2, 3]) {
        for (let pad = 0; pad <= 3; pad++) {
          for (const dilation of [1, 2]) {
            const c: Case = {
              batch: 1 + (seed % 3),
              channels: 1 + (seed % 4),
              height: sizes[seed % sizes.length],
              width: sizes[(seed * 3 + 1) % sizes.length],
              kernel: [kernel, kernel],
              stride: [stride, stride],
              padding: [pad, pad],
              dilation: [dilation, dilation],
              activation: ALL_ACTIVATIONS[seed % ALL_ACTIVATIONS.length],
            };
            const result = await check(c, seed, `${threads}t ${JSON.stringify(c)}`, seed % 4 !== 0);
            if (result === 'ran') ran++;
            else refused++;
            seed++;
          }
        }
      }
    }
    expect(ran).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(5);
  });

  it('handles different kernel, stride, padding and dilation along height and width', async () => {
    let seed = 500;
    for (const kernel of [[1, 3], [3, 1], [2, 5], [5, 3], [7, 2]] as [number, number][]) {
      for (const stride of [[1, 2], [2, 1], [3, 2]] as [number, number][]) {
        for (const padding of [[0, 1], [2, 0], [3, 1]] as [number, number][]) {
          const dilation: [number, number] = seed % 2 === 0 ? [1, 2] : [2, 1];
          const c: Case = { batch: 2, channels: 3, height: 9 + (seed % 5), width: 14 - (seed % 4), kernel, stride, padding, dilation };
          await check(c, seed, `${threads}t ${JSON.stringify(c)}`, seed % 3 !== 0);
          seed++;
        }
      }
    }
  });

  it.each(ALL_ACTIVATIONS)('fuses %s on the fast and the generic kernels', async (activation) => {
    let seed = 900;
    for (const [kernel, stride] of [[3, 1], [3, 2], [5, 1], [5, 2], [4, 1], [7, 3]]) {
      const c: Case = {
        batch: 2,
        channels: 5,
        height: 11,
        width: 17,
        kernel: [kernel, kernel],
        stride: [stride, stride],
        padding: [kernel >> 1, kernel >> 1],
        activation,
        negativeSlope: activation === 'leaky_relu' ? 0.2 : undefined,
      };
      // Scaled so that pre-activations span about ±8: every activation's kinks and tails are hit.
      await check(c, seed++, `${threads}t ${activation} ${kernel}×${kernel} s${stride}`, true, 4);
    }
  });

  it('runs MobileNet-like layers split over threads (many channels; one large plane)', async () => {
    await check({ batch: 1, channels: 96, height: 28, width: 28, kernel: [3, 3], stride: [2, 2], padding: [1, 1], activation: 'relu6' }, 11, 'mbv2 s2');
    await check({ batch: 1, channels: 1, height: 150, width: 131, kernel: [5, 5], stride: [1, 1], padding: [2, 2] }, 12, 'one plane 5×5');
    await check({ batch: 3, channels: 8, height: 30, width: 33, kernel: [3, 3], padding: [1, 1], activation: 'silu' }, 13, 'batch 3');
  });
});

describe('DepthwiseConv2d buffers', () => {
  const c: Case = { batch: 2, channels: 3, height: 6, width: 7, kernel: [3, 3], stride: [2, 1], padding: [1, 1] };
  const pad = (src: Float32Array, offset: number) => {
    const backing = new Float32Array(src.length + offset + 3).fill(Number.NaN);
    backing.set(src, offset);
    return backing.subarray(offset, offset + src.length);
  };

  it('accepts views with a byteOffset for input, weight, bias and out', async () => {
    const { input, weight, bias } = build(c, 31);
    const ref = referenceDepthwise(c, input.data, weight.data, bias);
    const layer = new DepthwiseConv2d({
      channels: 3,
      kernelSize: 3,
      stride: [2, 1],
      padding: 1,
      weight: { data: pad(weight.data, 3), shape: weight.shape },
      bias: pad(bias, 1),
    });
    const x = { data: pad(input.data, 5), shape: input.shape };
    const count = ref.data.length;
    const outBacking = new Float32Array(count + 20).fill(-7);
    const out = { data: outBacking.subarray(11, 11 + count), shape: ref.shape };
    const y = layer.forward(x, out);
    expect(y.data).toBe(out.data);
    expectClose(out.data, ref, 'views, sync');
    expect(outBacking[10]).toBe(-7);
    expect(outBacking[11 + count]).toBe(-7);
    out.data.fill(0);
    expect((await layer.forwardAsync(x, out)).data).toBe(out.data);
    expectClose(out.data, ref, 'views, async');
    expectClose(layer.forward(x).data, ref, 'views, no out');
  });

  it('copies the weights at construction and snapshots the input of an async call', async () => {
    const { input, weight, bias } = build(c, 41);
    const ref = referenceDepthwise(c, input.data, weight.data, bias);
    const layer = layerFor(c, new Tensor(new Float32Array(weight.data), weight.shape), bias);
    const data = new Float32Array(input.data);
    const promise = layer.forwardAsync({ data, shape: input.shape });
    structuredClone(data.buffer, { transfer: [data.buffer] });  // detach it while the call runs
    expectClose((await promise).data, ref, 'after the input was transferred');
  });

  it('has frozen readonly properties, outputShape and flops', () => {
    const layer = new DepthwiseConv2d({
      channels: 4, kernelSize: [3, 5], stride: 2, padding: [1, 2], dilation: [1, 2], weight: Tensor.zeros([4, 1, 3, 5]),
    });
    expect(layer.kind).toBe('DepthwiseConv2d');
    expect(layer.kernelSize).toEqual([3, 5]);
    expect(layer.stride).toEqual([2, 2]);
    expect(layer.padding).toEqual([1, 2]);
    expect(layer.dilation).toEqual([1, 2]);
    expect(layer.activation).toBe('none');
    expect(layer.layout).toBe('nchw');
    expect(Object.isFrozen(layer.kernelSize)).toBe(true);
    // H: floor((10 + 2 − 3) / 2) + 1 = 5; W: floor((12 + 4 − 9) / 2) + 1 = 4.
    expect(layer.outputShape([2, 4, 10, 12])).toEqual([2, 4, 5, 4]);
    expect(layer.flops([2, 4, 10, 12])).toBe(2 * 2 * 4 * 5 * 4 * 3 * 5);
  });

  it('folds a following batch norm and loads from PyTorch-named weights', () => {
    const fc: Case = { batch: 1, channels: 4, height: 9, width: 8, kernel: [3, 3], padding: [1, 1], activation: 'relu6' };
    const { input, weight, bias } = build(fc, 51, 3);
    const bn = { weight: seededFloats(4, 52), bias: seededFloats(4, 53), runningMean: seededFloats(4, 54), runningVar: seededFloats(4, 55).map((v) => v + 1.5) };
    const folded = fuseBatchNorm(layerFor({ ...fc, activation: 'none' }, weight, bias), bn);
    // Reference: BN applied in float64 after the plain convolution (activation none).
    const plain = referenceDepthwise({ ...fc, activation: 'none' }, input.data, weight.data, bias);
    const got = folded.forward(input).data;
    const plane = 9 * 8;
    for (let i = 0; i < got.length; i++) {
      const ch = Math.floor(i / plane);
      const scale = bn.weight[ch] / Math.sqrt(bn.runningVar[ch] + 1e-5);
      const expected = scale * (plain.data[i] - bn.runningMean[ch]) + bn.bias[ch];
      expect(Math.abs(got[i] - expected)).toBeLessThan(1e-4 * (1 + Math.abs(expected)));
    }
    const tensors: Record<string, Tensor> = {
      'dw.weight': weight,
      'bn.weight': new Tensor(bn.weight, [4]),
      'bn.bias': new Tensor(bn.bias, [4]),
      'bn.running_mean': new Tensor(bn.runningMean, [4]),
      'bn.running_var': new Tensor(bn.runningVar, [4]),
    };
    const store = {
      source: 'test',
      has: (name: string) => name in tensors,
      tensor: (name: string) => tensors[name],
    };
    const loaded = DepthwiseConv2d.fromWeights(store, 'dw', { padding: 1, batchNorm: 'bn' });
    expect(loaded.kernelSize).toEqual([3, 3]);
    const noBias = fuseBatchNorm(layerFor({ ...fc, activation: 'none' }, weight, null), bn);
    expect(loaded.forward(input).data).toEqual(noBias.forward(input).data);
  });
});

type ErrorClass = typeof TypeError | typeof RangeError | typeof Conv1x1Error;

function expectConstructorError(options: unknown, errorClass: ErrorClass, code: string, message?: RegExp): void {
  let thrown: unknown;
  try {
    new DepthwiseConv2d(options as DepthwiseConv2dOptions);
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `${JSON.stringify(options, (_, v) => (v instanceof Float32Array ? `Float32Array(${v.length})` : v))} must throw`).toBeInstanceOf(errorClass);
  expect((thrown as { code: string }).code).toBe(code);
  if (message) expect((thrown as Error).message).toMatch(message);
}

/** forward throws and forwardAsync rejects (never throws) with the same class and code. */
async function expectForwardError(
  layer: DepthwiseConv2d,
  args: [unknown, unknown?],
  errorClass: ErrorClass,
  code: string,
  message?: RegExp,
): Promise<void> {
  let thrown: unknown;
  try {
    layer.forward(...(args as [Tensor, Tensor?]));
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'forward must throw').toBeInstanceOf(errorClass);
  expect((thrown as { code: string }).code).toBe(code);
  if (message) expect((thrown as Error).message).toMatch(message);
  let promise: Promise<unknown> | undefined;
  expect(() => {
    promise = layer.forwardAsync(...(args as [Tensor, Tensor?]));
  }, 'forwardAsync must not throw synchronously').not.toThrow();
  const rejection = await promise!.then(
    () => expect.fail('forwardAsync must reject'),
    (error: unknown) => error,
  );
  expect(rejection).toBeInstanceOf(errorClass);
  expect((rejection as { code: string }).code).toBe(code);
}

describe('DepthwiseConv2d bad input', () => {
  const valid = () => ({ channels: 4, kernelSize: 3, padding: 1, weight: Tensor.zeros([4, 1, 3, 3]) });

  it('rejects a weight of the wrong shape, naming the layer and the shape it needs', () => {
    expectConstructorError({ ...valid(), weight: Tensor.zeros([4, 1, 3, 5]) }, Conv1x1Error, 'ERR_SHAPE_MISMATCH',
      /DepthwiseConv2d options\.weight has shape \[4, 1, 3, 5\] but channels 4 and kernelSize 3×3 need \[4, 1, 3, 3\]/);
    expectConstructorError({ ...valid(), weight: Tensor.zeros([5, 1, 3, 3]) }, Conv1x1Error, 'ERR_SHAPE_MISMATCH', /need \[4, 1, 3, 3\]/);
    expectConstructorError({ ...valid(), weight: Tensor.zeros([4, 2, 3, 3]) }, Conv1x1Error, 'ERR_SHAPE_MISMATCH');
    expectConstructorError({ ...valid(), weight: Tensor.zeros([4, 9]) }, Conv1x1Error, 'ERR_SHAPE_MISMATCH', /4 dimensions/);
    expectConstructorError({ ...valid(), weight: new Float32Array(36) }, TypeError, 'ERR_INVALID_ARG_TYPE');
    expectConstructorError({ ...valid(), bias: new Float32Array(3) }, Conv1x1Error, 'ERR_SHAPE_MISMATCH');
  });

  it('rejects bad sizes, strides, padding and dilations', () => {
    expectConstructorError({ ...valid(), channels: 0 }, RangeError, 'ERR_OUT_OF_RANGE', /channels/);
    expectConstructorError({ ...valid(), channels: '4' }, TypeError, 'ERR_INVALID_ARG_TYPE');
    expectConstructorError({ ...valid(), kernelSize: undefined }, TypeError, 'ERR_INVALID_ARG_TYPE', /kernelSize/);
    expectConstructorError({ ...valid(), kernelSize: 0 }, RangeError, 'ERR_OUT_OF_RANGE', /kernelSize/);
    expectConstructorError({ ...valid(), kernelSize: [3, 3, 3] }, RangeError, 'ERR_OUT_OF_RANGE');
    expectConstructorError({ ...valid(), stride: 0 }, RangeError, 'ERR_OUT_OF_RANGE', /stride/);
    expectConstructorError({ ...valid(), stride: [1, -2] }, RangeError, 'ERR_OUT_OF_RANGE', /stride\[1\]/);
    expectConstructorError({ ...valid(), stride: 1.5 }, RangeError, 'ERR_OUT_OF_RANGE');
    expectConstructorError({ ...valid(), stride: '2' }, TypeError, 'ERR_INVALID_ARG_TYPE');
    expectConstructorError({ ...valid(), padding: -1 }, RangeError, 'ERR_OUT_OF_RANGE', /padding/);
    expectConstructorError({ ...valid(), dilation: 0 }, RangeError, 'ERR_OUT_OF_RANGE', /dilation/);
    expectConstructorError({ ...valid(), dilation: [2, Number.NaN] }, RangeError, 'ERR_OUT_OF_RANGE', /dilation\[1\]/);
    expectConstructorError({ ...valid(), activation: 'swish' }, RangeError, 'ERR_INVALID_ARG_VALUE');
    expectConstructorError({ ...valid(), negativeSlope: Infinity }, RangeError, 'ERR_OUT_OF_RANGE');
  });

  it('rejects unknown option names, suggesting the closest', () => {
    expectConstructorError({ ...valid(), dilations: 2 }, TypeError, 'ERR_UNKNOWN_OPTION', /did you mean 'dilation'/);
    expectConstructorError({ ...valid(), kernel_size: 3 }, TypeError, 'ERR_UNKNOWN_OPTION');
    expectConstructorError({ ...valid(), groups: 4 }, TypeError, 'ERR_UNKNOWN_OPTION');
    expectConstructorError({ ...valid(), layout: 'nhwc' }, TypeError, 'ERR_UNKNOWN_OPTION');
    expectConstructorError(null, TypeError, 'ERR_INVALID_ARG_TYPE');
  });

  it('rejects inputs with the wrong channels, rank or out', async () => {
    const layer = new DepthwiseConv2d(valid());
    await expectForwardError(layer, [Tensor.zeros([1, 3, 5, 5])], Conv1x1Error, 'ERR_SHAPE_MISMATCH',
      /input\.shape\[1\] is 3 but the DepthwiseConv2d layer expects 4 channels/);
    await expectForwardError(layer, [Tensor.zeros([4, 5, 5])], Conv1x1Error, 'ERR_SHAPE_MISMATCH', /NCHW/);
    await expectForwardError(layer, [new Float32Array(100)], TypeError, 'ERR_INVALID_ARG_TYPE');
    await expectForwardError(layer, [Tensor.zeros([1, 4, 5, 5]), Tensor.zeros([1, 4, 5, 4])], Conv1x1Error, 'ERR_SHAPE_MISMATCH', /out\.shape/);
    const x = Tensor.zeros([1, 4, 5, 5]);
    await expectForwardError(layer, [x, { data: x.data, shape: [1, 4, 5, 5] }], Conv1x1Error, 'ERR_OVERLAP');
  });

  it('rejects an input smaller than the dilated kernel, as PyTorch does, naming the dimension', async () => {
    const layer = new DepthwiseConv2d({ ...valid(), padding: [1, 0], dilation: [1, 2] });
    // Width 4 + 2 × 0 < 2 · (3 − 1) + 1 = 5.
    await expectForwardError(layer, [Tensor.zeros([1, 4, 8, 4])], Conv1x1Error, 'ERR_SHAPE_MISMATCH',
      /DepthwiseConv2d: input width 4 \+ 2 × padding 0 is smaller than the dilated kernel width 5/);
    // Height 0 + 2 × 1 < 3.
    await expectForwardError(layer, [Tensor.zeros([1, 4, 0, 9])], Conv1x1Error, 'ERR_SHAPE_MISMATCH', /height 0/);
    expect(() => layer.outputShape([1, 4, 8, 4])).toThrow(/dilated kernel width 5/);
    expect(layer.outputShape([1, 4, 8, 5])).toEqual([1, 4, 8, 1]);
  });

  it('gives act(bias) where the window sees only padding, and an empty batch', async () => {
    const bias = new Float32Array([1, -2, 3, -4]);
    const layer = new DepthwiseConv2d({ ...valid(), padding: 2, bias, activation: 'sigmoid' });
    const y = layer.forward(Tensor.zeros([1, 4, 0, 0]));
    expect(y.shape).toEqual([1, 4, 2, 2]);
    y.data.forEach((v, i) => expect(v).toBeCloseTo(1 / (1 + Math.exp(-bias[Math.floor(i / 4)])), 6));
    expect((await layer.forwardAsync(Tensor.zeros([0, 4, 5, 5]))).shape).toEqual([0, 4, 7, 7]);
  });
});

// Each worker builds its own layer (per-environment class and async queue) and runs sync and async
// calls; the second one is terminated with calls still in flight, which must not disturb the rest.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { DepthwiseConv2d } = require(workerData.entry);
(async () => {
  const { c, input, weight, bias } = workerData;
  const layer = new DepthwiseConv2d({
    channels: c.channels, kernelSize: c.kernel, stride: c.stride, padding: c.padding, activation: 'relu6',
    weight: { data: new Float32Array(weight), shape: [c.channels, 1, ...c.kernel] }, bias: new Float32Array(bias),
  });
  const x = { data: new Float32Array(input), shape: [c.batch, c.channels, c.height, c.width] };
  if (workerData.abandon) {
    for (let i = 0; i < 50; i++) layer.forwardAsync(x);
    parentPort.postMessage({ started: true });
    return;
  }
  const results = [];
  for (let i = 0; i < 10; i++) results.push(layer.forward(x).data, (await layer.forwardAsync(x)).data);
  const first = results[0];
  const allEqual = results.every((r) => r.length === first.length && r.every((v, j) => v === first[j]));
  parentPort.postMessage({ allEqual, output: Array.from(first) });
})().catch((error) => parentPort.postMessage({ error: String((error && error.stack) || error) }));
`;

describe('DepthwiseConv2d in worker_threads', () => {
  it('computes correctly in two workers beside the main thread, and survives one terminated mid-call', async () => {
    requireBuiltPackage();
    const c: Case = { batch: 2, channels: 24, height: 40, width: 37, kernel: [3, 3], stride: [2, 2], padding: [1, 1], activation: 'relu6' };
    const { input, weight, bias } = build(c, 61);
    const workerData = {
      entry: path.join(path.dirname(DIST_ENTRY), 'layers', 'depthwise.js'),
      c, input: Array.from(input.data), weight: Array.from(weight.data), bias: Array.from(bias),
    };
    const run = (abandon: boolean) =>
      new Promise<{ allEqual?: boolean; output?: number[]; started?: boolean; error?: string; worker: Worker }>((resolve, reject) => {
        const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ...workerData, abandon } });
        worker.once('message', (message) => resolve({ ...message, worker }));
        worker.once('error', reject);
      });
    const abandoned = run(true);
    const pending = [run(false), run(false)];
    const layer = layerFor(c, weight, bias);
    const ref = referenceDepthwise(c, input.data, weight.data, bias);
    for (let i = 0; i < 10; i++) expectClose(layer.forward(input).data, ref, 'main thread');
    const dropped = await abandoned;
    expect(dropped.error).toBeUndefined();
    await dropped.worker.terminate();
    for (const result of await Promise.all(pending)) {
      expect(result.error).toBeUndefined();
      expect(result.allEqual).toBe(true);
      expectClose(Float32Array.from(result.output!), ref, 'worker');
      await result.worker.terminate();
    }
    expectClose((await layer.forwardAsync(input)).data, ref, 'main thread after the workers');
  });
});
