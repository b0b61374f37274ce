// Whole blocks loaded from a safetensors file with PyTorch names through a model spec, against
// float64 references of the unfused network (conv, then batch norm, then activation, layer by layer):
// MobileNet's depthwise separable block and MobileNetV2's inverted residual block (stride 1 and 2).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { Conv1x1Error, loadModel, saveSafetensors, WeightsError, type ModelSpec, type TensorLike } from '../lib/index';
import { BACKENDS, onBackend } from './backends';
import { activate, expectClose, referenceConv, referenceDepthwise, seededFloats, type RefActivation, type RefResult } from './reference';

const dir = mkdtempSync(path.join(tmpdir(), 'conv1x1-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let seed = 1;
const tensors: Record<string, TensorLike> = {};
const batchNorms = new Map<string, { gamma: Float32Array; beta: Float32Array; mean: Float32Array; variance: Float32Array }>();

function addConv(name: string, shape: number[]): Float32Array {
  const data = seededFloats(shape.reduce((a, b) => a * b, 1), seed++).map((v) => v * Math.sqrt(3 / (shape[1] * (shape[2] ?? 1) * (shape[3] ?? 1))));
  tensors[`${name}.weight`] = { data, shape };
  return data;
}

function addBatchNorm(name: string, channels: number): void {
  const bn = {
    gamma: seededFloats(channels, seed++).map((v) => 1 + 0.3 * v),
    beta: seededFloats(channels, seed++).map((v) => 0.2 * v),
    mean: seededFloats(channels, seed++).map((v) => 0.2 * v),
    variance: seededFloats(channels, seed++).map((v) => 0.6 + Math.abs(v)),
  };
  batchNorms.set(name, bn);
  tensors[`${name}.weight`] = { data: bn.gamma, shape: [channels] };
  tensors[`${name}.bias`] = { data: bn.beta, shape: [channels] };
  tensors[`${name}.running_mean`] = { data: bn.mean, shape: [channels] };
  tensors[`${name}.running_var`] = { data: bn.variance, shape: [channels] };
}

/** Batch norm (eps 1e-5) then activation on an NCHW float64 result, with its error scale. */
function bnAct(ref: RefResult, name: string, act: RefActivation): RefResult {
  const bn = batchNorms.get(name)!;
  const [, channels, h, w] = ref.shape;
  const data = new Float64Array(ref.data.length), magnitude = new Float64Array(ref.data.length);
  for (let i = 0; i < data.length; i++) {
    const c = Math.floor(i / (h * w)) % channels;
    const scale = bn.gamma[c] / Math.sqrt(bn.variance[c] + 1e-5);
    data[i] = activate((ref.data[i] - bn.mean[c]) * scale + bn.beta[c], act);
    magnitude[i] = (ref.magnitude[i] + Math.abs(bn.mean[c])) * Math.abs(scale) + Math.abs(bn.beta[c]);
  }
  return { data, magnitude, shape: ref.shape, k: ref.k };
}

const f32 = (ref: RefResult) => Float32Array.from(ref.data);

// Depthwise separable (MobileNet v1): 3×3 depthwise + BN + ReLU6 → 1×1 + BN.
const SEP = { cin: 24, cout: 40 };
const sepDw = addConv('sep.dw', [SEP.cin, 1, 3, 3]);
addBatchNorm('sep.bn1', SEP.cin);
const sepPw = addConv('sep.pw', [SEP.cout, SEP.cin, 1, 1]);
addBatchNorm('sep.bn2', SEP.cout);
const separableSpec: ModelSpec = {
  layers: [
    { type: 'depthwise', weights: 'sep.dw', batchNorm: 'sep.bn1', kernelSize: 3, padding: 1, activation: 'relu6' },
    { type: 'conv1x1', weights: 'sep.pw', batchNorm: 'sep.bn2' },
  ],
};
function separableReference(x: Float32Array, [n, , h, w]: number[]): RefResult {
  const a = bnAct(referenceDepthwise({ batch: n, channels: SEP.cin, height: h, width: w, kernel: [3, 3], padding: [1, 1] }, x, sepDw, null), 'sep.bn1', 'relu6');
  const b = bnAct(referenceConv({ batch: n, inChannels: SEP.cin, outChannels: SEP.cout, height: h, width: w }, f32(a), sepPw, null), 'sep.bn2', 'none');
  return { ...b, k: 9 + SEP.cin };
}

// Inverted residual (MobileNetV2), torchvision names: conv.0.0/0.1 expand, conv.1.0/1.1 depthwise,
// conv.2/conv.3 project. Residual only where stride is 1 and channels are kept.
const INV = { c: 16, hidden: 96 };
const invertedBlocks = [1, 2].map((stride) => {
  const p = `features.${stride}.conv`;
  const expand = addConv(`${p}.0.0`, [INV.hidden, INV.c, 1, 1]);
  addBatchNorm(`${p}.0.1`, INV.hidden);
  const dw = addConv(`${p}.1.0`, [INV.hidden, 1, 3, 3]);
  addBatchNorm(`${p}.1.1`, INV.hidden);
  const project = addConv(`${p}.2`, [INV.c, INV.hidden, 1, 1]);
  addBatchNorm(`${p}.3`, INV.c);
  const body: ModelSpec['layers'] = [
    { type: 'conv1x1', weights: `${p}.0.0`, batchNorm: `${p}.0.1`, activation: 'relu6' },
    { type: 'depthwise', weights: `${p}.1.0`, batchNorm: `${p}.1.1`, kernelSize: 3, stride, padding: 1, activation: 'relu6' },
    { type: 'conv1x1', weights: `${p}.2`, batchNorm: `${p}.3` },
  ];
  const spec: ModelSpec = { layers: stride === 1 ? [{ type: 'residual', layers: body }] : body };
  const reference = (x: Float32Array, [n, , h, w]: number[]): RefResult => {
    const e = bnAct(referenceConv({ batch: n, inChannels: INV.c, outChannels: INV.hidden, height: h, width: w }, x, expand, null), `${p}.0.1`, 'relu6');
    const d = bnAct(referenceDepthwise({ batch: n, channels: INV.hidden, height: h, width: w, kernel: [3, 3], stride: [stride, stride], padding: [1, 1] }, f32(e), dw, null), `${p}.1.1`, 'relu6');
    const [, , oh, ow] = d.shape;
    const y = bnAct(referenceConv({ batch: n, inChannels: INV.hidden, outChannels: INV.c, height: oh, width: ow }, f32(d), project, null), `${p}.3`, 'none');
    if (stride === 1) for (let i = 0; i < y.data.length; i++) { y.data[i] += x[i]; y.magnitude[i] += Math.abs(x[i]); }
    return { ...y, k: INV.c + 9 + INV.hidden };
  };
  return { stride, spec, reference };
});

const weightsFile = path.join(dir, 'blocks.safetensors');
saveSafetensors(weightsFile, tensors, { format: 'pt' });

describe.each(BACKENDS)('blocks from PyTorch-named weights on %s', (kind) => {
  beforeEach(() => onBackend(kind));

  it('depthwise separable block (3×3 dw + BN + ReLU6 → 1×1 + BN) reproduces the reference', async () => {
    const specFile = path.join(dir, 'separable.json');
    writeFileSync(specFile, JSON.stringify(separableSpec));
    const model = loadModel(specFile, weightsFile);
    for (const shape of [[1, SEP.cin, 14, 14], [3, SEP.cin, 7, 9]]) {
      const x = seededFloats(shape.reduce((a, b) => a * b, 1), 77 + shape[0]);
      const ref = separableReference(x, shape);
      const input = { data: x, shape };
      expect(model.outputShape(shape)).toEqual(ref.shape);
      expectClose(model.forward(input).data, ref, `${kind} separable ${shape}`);
      expectClose((await model.forwardAsync(input)).data, ref, `${kind} separable async ${shape}`);
    }
  });

  it.each([1, 2])('inverted residual block with depthwise stride %i reproduces the reference', async (stride) => {
    const block = invertedBlocks.find((b) => b.stride === stride)!;
    const model = loadModel(block.spec, weightsFile);
    for (const shape of [[2, INV.c, 28, 28], [1, INV.c, 15, 11]]) {
      const x = seededFloats(shape.reduce((a, b) => a * b, 1), 5 + stride);
      const ref = block.reference(x, shape);
      const input = { data: x, shape };
      expect(model.outputShape(shape)).toEqual(ref.shape);
      expectClose(model.forward(input).data, ref, `${kind} inverted s${stride} ${shape}`);
      expectClose((await model.forwardAsync(input)).data, ref, `${kind} inverted s${stride} async ${shape}`);
    }
  });
});

describe('model spec errors', () => {
  const load = (spec: unknown) => () => loadModel(spec as ModelSpec, weightsFile);

  it('names the spec path for structural mistakes', () => {
    expect(load({ layers: [{ type: 'conv' }] })).toThrow(expect.objectContaining({ code: 'ERR_MODEL_SPEC', message: expect.stringMatching(/layers\[0\]\.type: 'conv' is not a layer type/) }));
    expect(load({ layers: [{ type: 'conv1x1', weights: 'sep.pw', batchnorm: 'sep.bn2' }] })).toThrow(/did you mean 'batchNorm'/);
    expect(load({ layers: [] })).toThrow(Conv1x1Error);
    expect(load({ inputChannels: '32', layers: [{ type: 'flatten' }] })).toThrow(/inputChannels: must be a positive integer/);
    expect(load({ layers: [{ type: 'conv1x1' }] })).toThrow(/layers\[0\]\.weights: must be the PyTorch name prefix/);
    expect(load({ layers: [{ type: 'residual', layers: [{ type: 'flatten', extra: 1 }] }] })).toThrow(/layers\[0\]\.layers\[0\]/);
    expect(() => loadModel(path.join(dir, 'missing.json'), weightsFile)).toThrow(expect.objectContaining({ code: 'ERR_MODEL_SPEC' }));
    const broken = path.join(dir, 'broken.json');
    writeFileSync(broken, '{"layers": [');
    expect(() => loadModel(broken, weightsFile)).toThrow(/not valid JSON/);
  });

  it('reports a missing tensor with the closest names, and layer errors with where they came from', () => {
    let error: unknown;
    try {
      loadModel({ layers: [{ type: 'conv1x1', weights: 'sep.pww' }] }, weightsFile);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WeightsError);
    expect((error as WeightsError).code).toBe('ERR_WEIGHTS_MISSING');
    expect((error as Error).message).toMatch(/sep\.pw\.weight/);
    expect((error as Error).message).toMatch(/layers\[0\] \(conv1x1 'sep\.pww'\)/);
    expect(load({ layers: [{ type: 'conv1x1', weights: 'sep.pw', batchNorm: 'sep.bn1' }] })).toThrow(expect.objectContaining({ code: 'ERR_WEIGHTS_SHAPE' }));
    expect(load({ layers: [{ type: 'depthwise', weights: 'sep.dw', kernelSize: 5 }] })).toThrow(Conv1x1Error);
  });
});
