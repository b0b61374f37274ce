// Buffers taken away right after forwardAsync / conv1x1Async was called, while the call runs:
// - the input transferred to a worker_thread (postMessage with a transfer list; the worker overwrites
//   it), to a MessageChannel port, detached with structuredClone, with ArrayBuffer.prototype.transfer
//   where Node has it (Node 21+), and a resizable input shrunk to 0 bytes: the call resolves with the
//   result of the input as it was at the call (a snapshot);
// - `out` transferred to a worker_thread: the call rejects with ERR_BUFFER_DETACHED and the worker's
//   (now its own) buffer is never written.
// For Conv1x1, DepthwiseConv2d, Linear, Sequential, Residual and the functional conv1x1Async.
'use strict';
const { Worker, MessageChannel } = require('node:worker_threads');
const { lib, report, tensor, same, describeError } = require('./common.cjs');

// The worker takes buffers: an input is overwritten at once; an out is filled with 7 and, when asked
// later, says whether it still holds only 7s (the call must not write into it after the transfer).
const WORKER = `
const { parentPort } = require('node:worker_threads');
const held = new Map();
parentPort.on('message', (message) => {
  if (message.kind === 'input') { new Float32Array(message.buffer).fill(1e9); parentPort.postMessage({ id: message.id, filled: message.buffer.byteLength }); }
  if (message.kind === 'out') { held.set(message.key, new Float32Array(message.buffer).fill(7)); parentPort.postMessage({ id: message.id, filled: message.buffer.byteLength }); }
  if (message.kind === 'check') { const a = held.get(message.key); parentPort.postMessage({ id: message.id, untouched: a.every((v) => v === 7), length: a.length }); }
});
`;

const C = 48, H = 40, W = 40;
const conv = new lib.Conv1x1({ inChannels: C, outChannels: 64, weight: tensor([64, C], 61), bias: tensor([64], 62).data, activation: 'gelu' });
const depthwise = new lib.DepthwiseConv2d({ channels: C, kernelSize: 3, padding: 1, weight: tensor([C, 1, 3, 3], 63), activation: 'relu6' });
const linear = new lib.Linear({ inFeatures: 512, outFeatures: 256, weight: tensor([256, 512], 64), bias: tensor([256], 65).data });
const model = new lib.Sequential([new lib.Conv1x1({ inChannels: C, outChannels: 96, weight: tensor([96, C], 66), activation: 'relu' }), new lib.DepthwiseConv2d({ channels: 96, kernelSize: 3, padding: 1, weight: tensor([96, 1, 3, 3], 67) })]);
const residual = new lib.Residual(new lib.Sequential([new lib.Conv1x1({ inChannels: C, outChannels: C, weight: tensor([C, C], 68), activation: 'relu' }), depthwise]), { activation: 'relu' });
const fnWeight = tensor([32, C], 69);
const TARGETS = {
  Conv1x1: { shape: [2, C, H, W], run: (x, out) => conv.forwardAsync(x, out), sync: (x) => conv.forward(x) },
  DepthwiseConv2d: { shape: [2, C, H, W], run: (x, out) => depthwise.forwardAsync(x, out), sync: (x) => depthwise.forward(x) },
  Linear: { shape: [256, 512], run: (x, out) => linear.forwardAsync(x, out), sync: (x) => linear.forward(x) },
  Sequential: { shape: [2, C, H, W], run: (x, out) => model.forwardAsync(x, out), sync: (x) => model.forward(x) },
  Residual: { shape: [2, C, H, W], run: (x, out) => residual.forwardAsync(x, out), sync: (x) => residual.forward(x) },
  conv1x1Async: { shape: [2, C, H, W], run: (x, out) => lib.conv1x1Async(x, fnWeight, { out, activation: 'silu' }), sync: (x) => lib.conv1x1(x, fnWeight, { activation: 'silu' }) },
};

const worker = new Worker(WORKER, { eval: true });
let nextId = 0;
const pending = new Map();
worker.on('message', (m) => { pending.get(m.id)(m); pending.delete(m.id); });
const ask = (message, transfer = []) => new Promise((resolve) => { const id = nextId++; pending.set(id, resolve); worker.postMessage({ ...message, id }, transfer); });

// Ways to take an input's buffer away from this thread right after the call; each returns a promise
// that settles once the buffer's new owner has overwritten it (where it can).
const DETACH = {
  'postMessage to a worker': (data) => ask({ kind: 'input', buffer: data.buffer }, [data.buffer]),
  'MessageChannel port': (data) => {
    const { port1, port2 } = new MessageChannel();
    const received = new Promise((resolve) => port2.once('message', (buffer) => { new Float32Array(buffer).fill(-1e9); port1.close(); resolve(); }));
    port1.postMessage(data.buffer, [data.buffer]);
    return received;
  },
  structuredClone: (data) => { new Float32Array(structuredClone(data.buffer, { transfer: [data.buffer] })).fill(1e9); return Promise.resolve(); },
  'resizable buffer shrunk to 0': null,  // built differently: see below
};
const hasTransfer = typeof ArrayBuffer.prototype.transfer === 'function';
if (hasTransfer) DETACH['ArrayBuffer.prototype.transfer'] = (data) => { new Float32Array(data.buffer.transfer()).fill(1e9); return Promise.resolve(); };

async function inputCase(targetName, how) {
  const target = TARGETS[targetName];
  const count = target.shape.reduce((a, b) => a * b, 1);
  const original = tensor(target.shape, 70 + nextId);
  const expected = target.sync(original).data;
  let data;
  if (how === 'resizable buffer shrunk to 0') {
    data = new Float32Array(new ArrayBuffer(count * 4, { maxByteLength: count * 4 }));
    data.set(original.data);
  } else {
    data = new Float32Array(original.data);
  }
  const call = target.run({ data, shape: target.shape });
  let taken;
  if (how === 'resizable buffer shrunk to 0') { data.buffer.resize(0); taken = Promise.resolve(); } else taken = DETACH[how](data);
  const detached = data.length === 0;
  await taken;
  try {
    const y = await call;
    return { target: targetName, how, detached, correct: same(y.data, expected) };
  } catch (error) {
    return { target: targetName, how, detached, error: describeError(error) };
  }
}

async function outCase(targetName) {
  const target = TARGETS[targetName];
  const x = tensor(target.shape, 90 + nextId);
  const outShape = target.sync(x).shape;
  const out = { data: new Float32Array(outShape.reduce((a, b) => a * b, 1)), shape: outShape };
  const call = target.run(x, out);
  const key = `${targetName} out`;
  const moved = ask({ kind: 'out', key, buffer: out.data.buffer }, [out.data.buffer]);
  const detached = out.data.length === 0;
  const outcome = await call.then(() => 'resolved', describeError);
  await moved;
  const { untouched } = await ask({ kind: 'check', key });
  return { target: targetName, detached, outcome, untouched };
}

async function main() {
  const inputs = [], outs = [];
  for (const targetName of Object.keys(TARGETS)) {
    for (const how of Object.keys(DETACH)) inputs.push(await inputCase(targetName, how));
    outs.push(await outCase(targetName));
  }
  await worker.terminate();
  report({ arrayBufferTransfer: hasTransfer, node: process.version, inputs, outs, queueAfter: lib.backend().queue });
}

main().catch((error) => { console.error(error); process.exitCode = 1; });
