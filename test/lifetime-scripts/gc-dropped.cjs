// Layers dropped (no close(), every reference gone) while their async calls run, with gc() forced on
// every turn of the event loop until the calls settle (node --expose-gc). The public layers, and the
// bare native objects under them (PreparedConv, PreparedDepthwise: unreachable from JS while their
// calls run, so their finalizers run mid-call; the calls must keep the weights alive themselves).
// Every call must resolve with the values of a sync forward on an identical layer.
'use strict';
const path = require('node:path');
const { DIST, lib, report, tensor, same, nextTurn } = require('./common.cjs');
const { native } = require(path.join(DIST, 'binding.js'));

const C = 64, H = 56, W = 56;
const x = tensor([1, C, H, W], 51);
const weight = tensor([C, C], 52), bias = tensor([C], 53).data;
const dwWeight = tensor([C, 1, 3, 3], 54), dwBias = tensor([C], 55).data;

const makeConv = () => new lib.Conv1x1({ inChannels: C, outChannels: C, weight, bias, activation: 'relu' });
const makeDepthwise = () => new lib.DepthwiseConv2d({ channels: C, kernelSize: 3, padding: 1, weight: dwWeight, bias: dwBias, activation: 'relu6' });
const makeModel = () => new lib.Sequential([makeConv(), makeDepthwise(), makeConv()]);
const expected = {
  conv: makeConv().forward(x).data,
  depthwise: makeDepthwise().forward(x).data,
  model: makeModel().forward(x).data,
};

let settled = 0;
const finalized = [];  // [what, calls settled when its finalizer ran]
const registry = new FinalizationRegistry((what) => finalized.push([what, settled]));

// Makes a layer, launches `count` calls on it, and returns only their promises: once this returns,
// nothing refers to the layer but the calls themselves.
function launch(what, make, count, run) {
  let layer = make();
  registry.register(layer, what);
  const calls = [];
  for (let i = 0; i < count; i++) calls.push(run(layer).then((y) => { settled++; return { what, data: y.data ?? y }; }));
  layer = null;
  return calls;
}

const nativeParams = { inChannels: C, outChannels: C, strideH: 1, strideW: 1, padH: 0, padW: 0, groups: 1, layout: 'nchw', activation: 'relu', negativeSlope: 0.01 };
const nativeDwParams = { channels: C, kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, dilationH: 1, dilationW: 1, activation: 'relu6', negativeSlope: 0.01 };

async function main() {
  const calls = [
    ...launch('conv', makeConv, 40, (l) => l.forwardAsync(x)),
    ...launch('depthwise', makeDepthwise, 40, (l) => l.forwardAsync(x)),
    ...launch('model', makeModel, 20, (l) => l.forwardAsync(x)),
    ...launch('native PreparedConv', () => new native.PreparedConv(nativeParams, weight.data, bias), 40,
      (p) => p.runAsync(1, H, W, x.data, new Float32Array(C * H * W), true, false)),
  ];
  calls.push(...launch('native PreparedDepthwise', () => new native.PreparedDepthwise(nativeDwParams, dwWeight.data, dwBias), 40,
    (p) => p.runAsync(1, H, W, x.data, new Float32Array(C * H * W), true, false)));
  let gcs = 0;
  const total = calls.length;
  (function collect() {
    globalThis.gc();
    gcs++;
    if (settled < total) setImmediate(collect);
  })();
  const results = await Promise.all(calls);
  const expectedOf = (what) => (what.includes('Depthwise') || what === 'depthwise' ? expected.depthwise : what === 'model' ? expected.model : expected.conv);
  const wrong = results.filter((r) => !same(r.data, expectedOf(r.what))).map((r) => r.what);
  // Everything dropped is collectable once the calls have settled.
  for (let i = 0; i < 5 && finalized.length < 5; i++) { globalThis.gc(); await nextTurn(); }
  report({ calls: total, wrong, gcs, finalized, queueAfter: lib.backend().queue });
}

main().catch((error) => { console.error(error); process.exitCode = 1; });
