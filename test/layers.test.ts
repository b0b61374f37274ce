// Linear, GlobalAvgPool, Flatten, Residual, Sequential and batch-norm folding against float64
// references, sync and async, on every backend.
import { beforeEach, describe, expect, it } from 'vitest';

import {
  Conv1x1,
  Conv1x1Error,
  Flatten,
  fuseBatchNorm,
  GlobalAvgPool,
  Linear,
  Residual,
  SeparableConv2d,
  Sequential,
  Tensor,
  type TensorLike,
} from '../lib/index';
import { BACKENDS, onBackend } from './backends';
import { activate, expectClose, referenceConv, referenceDepthwise, seededFloats, type RefActivation, type RefResult } from './reference';

const EPS32 = 2 ** -23;

/** A float64 result checked with the K-scaled tolerance of a chain of `depth` K-long sums. */
function chainResult(data: Float64Array, shape: number[], k: number, magnitude: Float64Array): RefResult {
  return { data, shape, k, magnitude };
}

/** conv then batch norm, in float64, exactly as PyTorch evaluates them unfused. */
function convThenBatchNorm(
  input: Float32Array, weight: Float32Array, bias: Float32Array | null,
  bn: { gamma: Float32Array; beta: Float32Array; mean: Float32Array; variance: Float32Array; eps: number },
  batch: number, cin: number, cout: number, pixels: number, activation: RefActivation,
): RefResult {
  const conv = referenceConv({ batch, inChannels: cin, outChannels: cout, height: 1, width: pixels }, input, weight, bias);
  const data = new Float64Array(conv.data.length);
  const magnitude = new Float64Array(conv.data.length);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < cout; c++) {
      const scale = bn.gamma[c] / Math.sqrt(bn.variance[c] + bn.eps);
      for (let p = 0; p < pixels; p++) {
        const i = (n * cout + c) * pixels + p;
        data[i] = activate((conv.data[i] - bn.mean[c]) * scale + bn.beta[c], activation);
        magnitude[i] = (conv.magnitude[i] + Math.abs(bn.mean[c])) * Math.abs(scale) + Math.abs(bn.beta[c]);
      }
    }
  }
  return chainResult(data, conv.shape, cin, magnitude);
}

describe.each(BACKENDS)('layers on %s', (kind) => {
  beforeEach(() => onBackend(kind));

  it('Linear equals x·Wᵀ + b, sync and async, with and without out', async () => {
    for (const [batch, inF, outF] of [[1, 1, 1], [3, 17, 9], [8, 512, 33], [0, 4, 4]]) {
      const x = seededFloats(batch * inF, inF), w = seededFloats(outF * inF, outF), b = seededFloats(outF, 5);
      const layer = new Linear({ inFeatures: inF, outFeatures: outF, weight: { data: w, shape: [outF, inF] }, bias: b, activation: 'gelu' });
      // As a 1×1 conv over batch one-pixel images in NHWC: the same sums, laid out the same way.
      const ref = referenceConv({ batch, inChannels: inF, outChannels: outF, height: 1, width: 1, layout: 'nhwc', activation: 'gelu' }, x, w, b);
      const input = { data: x, shape: [batch, inF] };
      expect(layer.outputShape([batch, inF])).toEqual([batch, outF]);
      const y = layer.forward(input);
      expect(y.shape).toEqual([batch, outF]);
      expectClose(y.data, { ...ref, shape: [batch, outF] }, `${kind} linear`);
      expectClose((await layer.forwardAsync(input)).data, ref, `${kind} linear async`);
      const out = Tensor.zeros([batch, outF]);
      expect((await layer.forwardAsync(input, out)).data).toBe(out.data);
      expectClose(out.data, ref, `${kind} linear async out`);
      expect(layer.flops([batch, inF])).toBe(2 * batch * inF * outF);
    }
    const layer = new Linear({ inFeatures: 4, outFeatures: 2, weight: { data: new Float32Array(8), shape: [2, 4] } });
    expect(() => layer.forward({ data: new Float32Array(6), shape: [2, 3] })).toThrow(/expects 4 input features/);
    expect(() => new Linear({ inFeatures: 4, outFeatures: 2, weight: { data: new Float32Array(8), shape: [4, 2] } })).toThrow(Conv1x1Error);
  });

  it('GlobalAvgPool averages each channel in double; Flatten reshapes without copying', async () => {
    const x = new Tensor(seededFloats(2 * 3 * 7 * 5, 1), [2, 3, 7, 5]);
    const pool = new GlobalAvgPool();
    const y = pool.forward(x);
    expect(y.shape).toEqual([2, 3]);
    for (let plane = 0; plane < 6; plane++) {
      let sum = 0;
      for (let i = 0; i < 35; i++) sum += x.data[plane * 35 + i];
      expect(Math.abs(y.data[plane] - sum / 35)).toBeLessThanOrEqual(EPS32 * Math.abs(sum / 35) + 1e-9);
    }
    expect((await pool.forwardAsync(x)).data).toEqual(y.data);
    const flat = new Flatten().forward(x);
    expect(flat.shape).toEqual([2, 105]);
    expect(flat.data).toBe(x.data);
    expect(() => pool.forward(flat)).toThrow(Conv1x1Error);
  });

  it('Residual adds the skip and applies its activation; shape changes are refused', async () => {
    const c = 12;
    const w = seededFloats(c * c, 3), b = seededFloats(c, 4);
    const x = new Tensor(seededFloats(2 * c * 4 * 4, 5), [2, c, 4, 4]);
    const block = new Conv1x1({ inChannels: c, outChannels: c, weight: { data: w, shape: [c, c] }, bias: b });
    const residual = new Residual(block, { activation: 'relu' });
    const conv = referenceConv({ batch: 2, inChannels: c, outChannels: c, height: 4, width: 4 }, x.data, w, b);
    const ref = chainResult(conv.data.map((v, i) => Math.max(0, v + x.data[i])), conv.shape, c,
      conv.magnitude.map((m, i) => m + Math.abs(x.data[i])));
    expectClose(residual.forward(x).data, ref, `${kind} residual`);
    expectClose((await residual.forwardAsync(x)).data, ref, `${kind} residual async`);
    const widening = new Conv1x1({ inChannels: c, outChannels: c + 1, weight: { data: new Float32Array((c + 1) * c), shape: [c + 1, c] } });
    expect(() => new Residual(widening).forward(x)).toThrow(/a residual add needs the same shape/);
  });

  it('fuseBatchNorm equals conv then batch norm (Conv1x1 and Linear)', async () => {
    const [batch, cin, cout, pixels] = [2, 40, 24, 30];
    const x = seededFloats(batch * cin * pixels, 1), w = seededFloats(cout * cin, 2), b = seededFloats(cout, 3);
    const bn = {
      gamma: seededFloats(cout, 4).map((v) => 1 + v / 2),
      beta: seededFloats(cout, 5),
      mean: seededFloats(cout, 6),
      variance: seededFloats(cout, 7).map((v) => 0.5 + Math.abs(v)),
      eps: 1e-3,
    };
    const conv = new Conv1x1({ inChannels: cin, outChannels: cout, weight: { data: w, shape: [cout, cin, 1, 1] }, bias: b, activation: 'relu6' });
    const fused = fuseBatchNorm(conv, { weight: bn.gamma, bias: bn.beta, runningMean: bn.mean, runningVar: bn.variance, eps: bn.eps });
    expect(fused).toBeInstanceOf(Conv1x1);
    const input = { data: x, shape: [batch, cin, 1, pixels] };
    const ref = convThenBatchNorm(x, w, b, bn, batch, cin, cout, pixels, 'relu6');
    expectClose(fused.forward(input).data, ref, `${kind} conv+bn`);
    expectClose((await fused.forwardAsync(input)).data, ref, `${kind} conv+bn async`);
    // Without a bias of its own; and through Linear.
    const linear = new Linear({ inFeatures: cin, outFeatures: cout, weight: { data: w, shape: [cout, cin] } });
    const fusedLinear = fuseBatchNorm(linear, { weight: bn.gamma, bias: bn.beta, runningMean: bn.mean, runningVar: bn.variance, eps: bn.eps });
    const linearInput = new Float32Array(batch * cin);
    for (let n = 0; n < batch; n++) for (let i = 0; i < cin; i++) linearInput[n * cin + i] = x[(n * cin + i) * pixels];
    const linearRef = convThenBatchNorm(linearInput, w, null, bn, batch, cin, cout, 1, 'none');
    expectClose(fusedLinear.forward({ data: linearInput, shape: [batch, cin] }).data, linearRef, `${kind} linear+bn`);
    expect(() => fuseBatchNorm(conv, { weight: bn.gamma.subarray(1), bias: bn.beta, runningMean: bn.mean, runningVar: bn.variance })).toThrow(Conv1x1Error);
    expect(() => fuseBatchNorm(new GlobalAvgPool() as unknown as Conv1x1, { weight: bn.gamma, bias: bn.beta, runningMean: bn.mean, runningVar: bn.variance })).toThrow(TypeError);
  });

  it('Sequential chains layers, reuses its buffers, and keeps concurrent async calls apart', async () => {
    const w1 = seededFloats(32 * 16, 1), b1 = seededFloats(32, 2), w2 = seededFloats(8 * 32, 3), b2 = seededFloats(8, 4);
    const model = new Sequential([
      new Conv1x1({ inChannels: 16, outChannels: 32, weight: { data: w1, shape: [32, 16] }, bias: b1, activation: 'relu' }),
      new Residual(new Conv1x1({ inChannels: 32, outChannels: 32, weight: { data: seededFloats(32 * 32, 9), shape: [32, 32] } })),
      new Conv1x1({ inChannels: 32, outChannels: 8, weight: { data: w2, shape: [8, 32] }, bias: b2 }),
      new GlobalAvgPool(),
      new Linear({ inFeatures: 8, outFeatures: 3, weight: { data: seededFloats(24, 5), shape: [3, 8] } }),
    ]);
    const expected = (x: Float32Array) => {
      // The same chain, layer by layer, through the individually tested layers' own float64 references.
      const a = referenceConv({ batch: 2, inChannels: 16, outChannels: 32, height: 3, width: 5, activation: 'relu' }, x, w1, b1);
      const a32 = Float32Array.from(a.data);
      const r = referenceConv({ batch: 2, inChannels: 32, outChannels: 32, height: 3, width: 5 }, a32, seededFloats(32 * 32, 9), null);
      const rr = Float32Array.from(r.data.map((v, i) => v + a32[i]));
      const c = referenceConv({ batch: 2, inChannels: 32, outChannels: 8, height: 3, width: 5 }, rr, w2, b2);
      const pooled = new Float32Array(16);
      for (let p = 0; p < 16; p++) { let s = 0; for (let i = 0; i < 15; i++) s += c.data[p * 15 + i]; pooled[p] = s / 15; }
      return referenceConv({ batch: 2, inChannels: 8, outChannels: 3, height: 1, width: 1, layout: 'nhwc' }, pooled, seededFloats(24, 5), null);
    };
    expect(model.outputShape([2, 16, 3, 5])).toEqual([2, 3]);
    const inputs = Array.from({ length: 12 }, (_, i) => seededFloats(2 * 16 * 15, 100 + i));
    for (const x of inputs.slice(0, 3)) {
      // K of the whole chain bounds the error: 16 + 32 + 32 + 15 + 8 terms deep.
      const ref = { ...expected(x), k: 120 };
      expectClose(model.forward({ data: x, shape: [2, 16, 3, 5] }).data, ref, `${kind} sequential`);
    }
    const results = await Promise.all(inputs.map((x) => model.forwardAsync({ data: x, shape: [2, 16, 3, 5] })));
    results.forEach((y, i) => expectClose(y.data, { ...expected(inputs[i]), k: 120 }, `${kind} sequential async ${i}`));
    expect(model.flops([2, 16, 3, 5])).toBeGreaterThan(2 * 2 * 15 * (16 * 32 + 32 * 32 + 32 * 8));
    expect(() => model.forward({ data: new Float32Array(2 * 15 * 15), shape: [2, 15, 3, 5] })).toThrow(/Sequential layers\[0\] \(Conv1x1\)/);
  });
});

describe('SeparableConv2d', () => {
  it('is a depthwise convolution then a pointwise one, each with its activation', async () => {
    const [cin, cout, h, w] = [12, 20, 9, 11];
    const dw = seededFloats(cin * 9, 1), dwb = seededFloats(cin, 2), pw = seededFloats(cout * cin, 3), pwb = seededFloats(cout, 4);
    const layer = new SeparableConv2d({
      inChannels: cin, outChannels: cout, kernelSize: 3, stride: 2, padding: 1,
      depthwiseWeight: { data: dw, shape: [cin, 1, 3, 3] }, depthwiseBias: dwb, depthwiseActivation: 'relu6',
      pointwiseWeight: { data: pw, shape: [cout, cin] }, pointwiseBias: pwb, activation: 'hardswish',
    });
    const x = seededFloats(2 * cin * h * w, 5).map((v) => v * 3);
    const a = referenceDepthwise({ batch: 2, channels: cin, height: h, width: w, kernel: [3, 3], stride: [2, 2], padding: [1, 1], activation: 'relu6' }, x, dw, dwb);
    const [, , oh, ow] = a.shape;
    const ref = referenceConv({ batch: 2, inChannels: cin, outChannels: cout, height: oh, width: ow, activation: 'hardswish' }, Float32Array.from(a.data), pw, pwb);
    const input = { data: x, shape: [2, cin, h, w] };
    expect(layer.outputShape(input.shape)).toEqual(ref.shape);
    expectClose(layer.forward(input).data, { ...ref, k: cin + 9 }, 'separable');
    expectClose((await layer.forwardAsync(input)).data, { ...ref, k: cin + 9 }, 'separable async');
    expect(() => new SeparableConv2d({ ...({} as object), inChannels: cin } as never)).toThrow();
  });
});

describe('Sequential and Residual buffer ownership', () => {
  const c = 6;
  const conv = () => new Conv1x1({ inChannels: c, outChannels: c, weight: { data: seededFloats(c * c, 1), shape: [c, c] } });
  const x1 = () => new Tensor(seededFloats(c * 4, 2), [1, c, 2, 2]);
  const x2 = () => new Tensor(seededFloats(c * 4, 3), [1, c, 2, 2]);

  it('never hands out its kept buffers (Flatten last returns a view of one)', async () => {
    const model = new Sequential([conv(), new Flatten()]);
    const first = model.forward(x1());
    const firstCopy = Array.from(first.data);
    model.forward(x2());
    expect(Array.from(first.data)).toEqual(firstCopy);
    const a = await model.forwardAsync(x1());
    const aCopy = Array.from(a.data);
    await model.forwardAsync(x2());
    expect(Array.from(a.data)).toEqual(aCopy);
    expect(aCopy).toEqual(firstCopy);
  });

  it('snapshots the caller\'s input when called, even when the first layer is a JavaScript one', async () => {
    const identity = {
      kind: 'Identity',
      outputShape: (shape: readonly number[]) => [...shape],
      forward: (input: TensorLike) => input as Tensor,
      forwardAsync: async (input: TensorLike) => input as Tensor,
      flops: () => 0,
    };
    const model = new Sequential([identity, conv()]);
    const x = x1();
    const expected = conv().forward(x1()).data;
    const pending = model.forwardAsync(x);
    x.data.fill(Number.NaN);  // after the call: must not reach the result
    expect(Array.from((await pending).data)).toEqual(Array.from(expected));
  });

  it('Residual refuses an out that is its input (the skip reads it after the block)', async () => {
    const residual = new Residual(new Sequential([conv(), conv()]));
    const x = x1();
    expect(() => residual.forward(x, x)).toThrow(expect.objectContaining({ code: 'ERR_OVERLAP' }));
    await expect(residual.forwardAsync(x, x)).rejects.toMatchObject({ code: 'ERR_OVERLAP' });
  });
});
