// Peer: onnxruntime-node (CPU execution provider, MLAS) running a one-node ONNX Conv model.
// Standard ONNX Conv is NCHW only, so for an 'nhwc' shape this peer runs the NCHW layout of the same conv:
// prepareInput (NHWC → NCHW) and restoreOutput (NCHW → NHWC) are copies the runner makes outside the
// timed run(), and outputLayout says 'nchw'. session.run does the compute synchronously on the main JS
// thread after a setImmediate hop; with threads > 1 it adds threads - 1 pool threads of its own.

import { checkConvShape, layoutAdapter } from './conv-shape.mjs';
import { conv1x1OnnxModel } from './onnx-model.mjs';

let ortModule;
async function loadOrt() {
  ortModule ??= import('onnxruntime-node').then((mod) => mod.default ?? mod);
  return ortModule;
}

export async function available() {
  try {
    const ort = await loadOrt();
    return { ok: true, version: ort.env.versions.node };
  } catch (error) {
    return { ok: false, reason: `onnxruntime-node cannot be loaded: ${error.message}` };
  }
}

export function supports(shape) {
  checkConvShape(shape);
  return { ok: true };
}

/**
 * shape: { n, cin, cout, h, w, stride, groups, layout, weight, bias }; threads: intra-op threads.
 * allowSpinning: false sets session.intra_op.allow_spinning=0 so idle pool threads sleep instead of
 * spinning between runs (left at ORT's default, spinning, unless given).
 */
export async function createOnnxRuntimeConv(shape, { threads = 1, allowSpinning } = {}) {
  checkConvShape(shape);
  const ort = await loadOrt();
  const { n, cin, h, w, layout = 'nchw' } = shape;
  const options = {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    executionProviders: ['cpu'],
  };
  if (allowSpinning !== undefined) {
    options.extra = { session: { intra_op: { allow_spinning: allowSpinning ? '1' : '0' } } };
  }
  const session = await ort.InferenceSession.create(conv1x1OnnxModel(shape), options);
  const dims = [n, cin, h, w];
  const version = ort.env.versions.node;
  const layoutNote = layout === 'nhwc' ? ', runs the NCHW layout of this conv' : '';

  return {
    label: `onnxruntime-node ${version} (CPU EP, ${threads} thread${threads === 1 ? '' : 's'}${layoutNote})`,
    version,
    threads,
    ...layoutAdapter(shape, 'nchw'),
    async run(input) {
      const outputs = await session.run({ x: new ort.Tensor('float32', input, dims) });
      return outputs.y.data;
    },
    async close() {
      await session.release();
    },
  };
}
