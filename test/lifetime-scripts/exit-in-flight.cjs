// process.exit() from a timer while 200 async calls are in flight (layers, the functional form,
// depthwise and a Sequential): the process must exit with the given status, no signal, no output on
// stderr. Reports how many calls were still in flight at the exit.
//   node exit-in-flight.cjs <delayMs> <engine: auto|blas|builtin>
'use strict';
const { lib, report, tensor, same, useEngine } = require('./common.cjs');

const delayMs = Number(process.argv[2] ?? 5);
const engine = process.argv[3] ?? 'auto';
if (!useEngine(engine)) {
  report({ skipped: `engine ${engine} is not available` });
  process.exit(0);
}

const C = 64, H = 56, W = 56;
const x = tensor([1, C, H, W], 1);
const w = tensor([C, C], 2);
const conv = new lib.Conv1x1({ inChannels: C, outChannels: C, weight: w, activation: 'relu' });
const depthwise = new lib.DepthwiseConv2d({ channels: C, kernelSize: 3, padding: 1, weight: tensor([C, 1, 3, 3], 3) });
const model = new lib.Sequential([conv, depthwise, new lib.Conv1x1({ inChannels: C, outChannels: 32, weight: tensor([32, C], 4) })]);
const kinds = [
  { name: 'layer', run: () => conv.forwardAsync(x), expected: conv.forward(x).data },
  { name: 'functional', run: () => lib.conv1x1Async(x, w, { activation: 'relu' }), expected: lib.conv1x1(x, w, { activation: 'relu' }).data },
  { name: 'depthwise', run: () => depthwise.forwardAsync(x), expected: depthwise.forward(x).data },
  { name: 'sequential', run: () => model.forwardAsync(x), expected: model.forward(x).data },
];

let settled = 0, wrong = 0, rejected = 0;
for (let i = 0; i < 200; i++) {
  const kind = kinds[i % kinds.length];
  kind.run().then((y) => { settled++; if (!same(y.data, kind.expected)) wrong++; }, () => { settled++; rejected++; });
}
const launched = 200;
setTimeout(() => {
  report({ engine, delayMs, launched, settled, wrong, rejected, inFlight: lib.backend().queue.calls });
  process.exit(0);  // synchronously, with most calls still queued or running
}, delayMs);
