// The benchmark's peers behind one interface. Each module exports
//   available(): Promise<{ ok, version?, reason? }>   whether the peer can run here at all
//   supports(shape): { ok, reason? }                    whether it can run this conv (throws on a bad shape)
//   create(shape, { threads }): Promise<Peer | null>    null when supports(shape) is not ok
// shape = { n, cin, cout, h, w, stride, groups, layout: 'nchw'|'nhwc', weight: Float32Array [cout, cin/groups],
// bias: Float32Array [cout] | null }, and a Peer is
//   { label, version, threads,          threads = the count the peer actually computes on
//     inputLayout, outputLayout,        the layouts run() takes and returns
//     prepareInput(x), restoreOutput(y) shape.layout → inputLayout, outputLayout → shape.layout; untimed
//     run(x): Promise<Float32Array>,    the timed call: a fresh output each time
//     close(): Promise<void> }

import * as onnxruntime from './onnxruntime.mjs';
import * as plainJs from './plain-js.mjs';
import * as tfjsWasm from './tfjs-wasm.mjs';

export const PEERS = [
  { name: 'onnxruntime', available: onnxruntime.available, supports: onnxruntime.supports, create: onnxruntime.createOnnxRuntimeConv },
  { name: 'tfjs-wasm', available: tfjsWasm.available, supports: tfjsWasm.supports, create: tfjsWasm.createTfjsWasmConv },
  { name: 'plain-js', available: plainJs.available, supports: plainJs.supports, create: async (shape) => plainJs.createPlainJsConv(shape) },
];
