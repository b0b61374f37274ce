// The competitors of one shape, each with the same face for the runner:
//   { id, label, threads, ours, setup?(), run(), output(), timeRound?(seconds), close?() }
// run() is the timed call; output() gives the result in the shape's own layout, for the check.
import { createRequire } from 'node:module';

import { blasFloor } from './blas-floor.mjs';

const require = createRequire(import.meta.url);
const { Conv1x1, Tensor, backend, setThreads } = require('../dist/index.js');
const { availableBackends, selectBackend } = require('../dist/internal.js');

const THREADS = [1, 2];
/** Beyond this the plain-JS loops take seconds per call: not run, and said so. */
const PLAIN_JS_MAX_FLOPS = 300e6;

async function loadPeer(module) {
  try {
    return await import(module);
  } catch (error) {
    return { loadError: String(error.message ?? error).split('\n')[0] };
  }
}

const peers = {
  onnxruntime: await loadPeer('./peers/onnxruntime.mjs'),
  tfjs: await loadPeer('./peers/tfjs-wasm.mjs'),
  plain: await loadPeer('./peers/plain-js.mjs'),
};

export async function peerVersions() {
  const versions = {};
  for (const [name, peer] of Object.entries(peers)) {
    const status = peer.available ? await peer.available() : { ok: false };
    if (status.ok && status.version) versions[name] = status.version;
  }
  return versions;
}

// The default (per-shape "auto" when a BLAS loaded, else builtin) in every calling style; the forced
// backends with the preallocated output only, which is enough to compare engines and keeps the run short.
function oursFor(shape, data) {
  const list = [];
  const inputShape = shape.layout === 'nhwc' ? [shape.n, shape.h, shape.w, shape.cin] : [shape.n, shape.cin, shape.h, shape.w];
  const input = new Tensor(data.input, inputShape);
  const available = availableBackends();
  const defaultKind = available.includes('blas') ? 'auto' : 'builtin';
  const variants = [
    { kind: defaultKind, key: 'auto', name: 'default', styles: ['out', 'new', 'async'] },
    ...(available.includes('blas') ? [{ kind: 'blas', key: 'blas', name: 'BLAS', styles: ['out'] }] : []),
    { kind: 'builtin', key: 'builtin', name: 'builtin', styles: ['out'] },
  ];
  for (const threads of THREADS) {
    for (const { kind, key, name, styles } of variants) {
      const layer = new Conv1x1({
        inChannels: shape.cin, outChannels: shape.cout, weight: { data: data.weight, shape: [shape.cout, shape.cin / shape.groups] },
        bias: data.bias, stride: shape.stride, groups: shape.groups, layout: shape.layout,
      });
      const out = Tensor.zeros(layer.outputShape(input.shape));
      const setup = () => {
        selectBackend(kind);
        setThreads(threads);
      };
      // What a call runs on under this selection (read after setup): the report shows it per cell.
      const engine = () => layer.backend(inputShape);
      const base = { threads, ours: true, setup, engine, output: () => layer.forward(input).data };
      const runs = {
        out: { label: 'sync out', run: () => layer.forward(input, out) },
        new: { label: 'sync new', run: () => layer.forward(input) },
        async: { label: 'async', run: () => layer.forwardAsync(input) },
      };
      for (const style of styles) {
        list.push({ ...base, id: `conv1x1-${key}-${style}-${threads}t`, label: `conv1x1 ${name} ${runs[style].label}`, run: runs[style].run });
      }
    }
  }
  return list;
}

// The floor of raw BLAS: cblas_sgemm on the same GEMM(s), timed in C.
function floorFor(shape, skipped) {
  const info = backend();
  if (!info.available.includes('blas')) return [];
  if (shape.groups !== 1) {
    skipped.push({ competitor: 'raw-sgemm', shape: shape.id, reason: 'groups > 1: not one GEMM' });
    return [];
  }
  const pixels = shape.oh * shape.ow;
  // NCHW: N GEMMs [Cout × pixels] = W · X_n; NHWC: one [N·pixels × Cout] = X · Wᵀ.
  const [m, n, k, repeat] = shape.layout === 'nhwc' ? [shape.n * pixels, shape.cout, shape.cin, 1] : [shape.cout, pixels, shape.cin, shape.n];
  return THREADS.map((threads) => ({
    id: `raw-sgemm-${threads}t`, label: 'raw cblas_sgemm (C)', threads, ours: false,
    output: null,
    run: async () => {},
    async timeRound(seconds) {
      const single = 2 * m * n * k / 150e9;  // a guess at 150 GFLOP/s, to size the round
      const reps = Math.max(3, Math.min(200, Math.ceil(seconds / Math.max(single, 1e-6))));
      const [result] = await blasFloor({ shapes: [[m, n, k]], threads, reps, warmup: 2, library: info.path ?? undefined });
      return result.median_ms * repeat;
    },
  }));
}

async function peerCompetitors(shape, data, skipped) {
  const list = [];
  const add = async (peerName, id, create, threadsList) => {
    const peer = peers[peerName];
    if (peer.loadError || !peer[create]) {
      skipped.push({ competitor: id, shape: shape.id, reason: peer.loadError ?? `${create} missing` });
      return;
    }
    const status = peer.available ? await peer.available() : { ok: true };
    if (!status.ok) {
      skipped.push({ competitor: id, shape: shape.id, reason: status.reason ?? 'not available' });
      return;
    }
    const supported = peer.supports ? peer.supports({ ...shape, weight: data.weight, bias: data.bias }) : { ok: true };
    if (!supported.ok) {
      skipped.push({ competitor: id, shape: shape.id, reason: supported.reason ?? 'does not support this shape' });
      return;
    }
    for (const threads of threadsList) {
      try {
        const instance = await peer[create]({ ...shape, weight: data.weight, bias: data.bias }, { threads });
        if (!instance) {
          skipped.push({ competitor: `${id}-${threads}t`, shape: shape.id, reason: 'does not support this shape' });
          continue;
        }
        // Layout changes for peers that need another layout happen outside the timed call.
        const input = instance.prepareInput ? instance.prepareInput(data.input) : data.input;
        const toShapeLayout = (y) => (instance.restoreOutput ? instance.restoreOutput(y) : y);
        list.push({
          id: `${id}-${threads}t`, label: instance.label, threads, ours: false,
          run: () => instance.run(input),
          output: async () => toShapeLayout(await instance.run(input)),
          close: () => instance.close?.(),
          maxCalls: id === 'plain-js' ? 3 : undefined,
          minCalls: id === 'plain-js' ? 1 : undefined,
        });
      } catch (error) {
        skipped.push({ competitor: `${id}-${threads}t`, shape: shape.id, reason: String(error.message ?? error).split('\n')[0] });
      }
    }
  };
  await add('onnxruntime', 'onnxruntime', 'createOnnxRuntimeConv', THREADS);
  await add('tfjs', 'tfjs-wasm', 'createTfjsWasmConv', [1]);
  if (shape.flops <= PLAIN_JS_MAX_FLOPS) {
    await add('plain', 'plain-js', 'createPlainJsConv', [1]);
  } else {
    skipped.push({ competitor: 'plain-js-1t', shape: shape.id, reason: `over ${PLAIN_JS_MAX_FLOPS / 1e6} MFLOP: seconds per call` });
  }
  return list;
}

export async function competitorsFor(shape, data, skipped) {
  const ours = oursFor(shape, data);
  return [...ours, ...floorFor(shape, skipped), ...(await peerCompetitors(shape, data, skipped))].map((c) =>
    c.output === null ? { ...c, output: async () => null, verifiedElsewhere: true } : c);
}
