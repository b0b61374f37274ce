// worker.terminate() while a worker_thread has async calls in flight (queued, running, or a worker in
// a loop of sync and async calls), with the main thread's own async calls in flight at the same time.
// (queued: the process-wide calls in flight the worker saw before it was terminated.) Checks that the main thread's calls stay correct, that every call the terminated workers had
// admitted gives its place in the process-wide queue back, and that the process then exits by itself.
'use strict';
const { Worker } = require('node:worker_threads');
const path = require('node:path');
const { DIST, lib, report, tensor, same, sleep } = require('./common.cjs');

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const lib = require(workerData.entry);
const C = 64, H = 48, W = 48;
const x = { data: new Float32Array(C * H * W).fill(0.5), shape: [1, C, H, W] };
const w = { data: new Float32Array(C * C).fill(0.01), shape: [C, C] };
const conv = new lib.Conv1x1({ inChannels: C, outChannels: C, weight: w, activation: 'relu' });
const depthwise = new lib.DepthwiseConv2d({ channels: C, kernelSize: 3, padding: 1, weight: { data: new Float32Array(C * 9).fill(0.1), shape: [C, 1, 3, 3] } });
const model = new lib.Sequential([conv, depthwise]);
if (workerData.mode === 'looping') {
  // Sync calls back to back, and async ones queued beside them (they cannot settle: the loop never
  // yields), until terminate() stops the loop between two sync calls.
  for (let i = 0; ; i++) {
    conv.forward(x);
    if (lib.backend().queue.calls < 64) model.forwardAsync(x).catch(() => {});
    if (i === 10) parentPort.postMessage({ queued: lib.backend().queue.calls });
  }
} else {
  // 'delayed' queues enough work to still be running a few milliseconds later; a timer keeps the
  // worker alive either way, so that terminate(), not the end of its work, is what stops it.
  const rounds = workerData.mode === 'delayed' ? 40 : 10;
  for (let i = 0; i < rounds; i++) { conv.forwardAsync(x); lib.conv1x1Async(x, w); depthwise.forwardAsync(x); model.forwardAsync(x); }
  setInterval(() => {}, 1000);
  parentPort.postMessage({ queued: lib.backend().queue.calls });
}
`;

async function main() {
  const C = 64, H = 56, W = 56;
  const x = tensor([1, C, H, W], 11);
  const conv = new lib.Conv1x1({ inChannels: C, outChannels: C, weight: tensor([C, C], 12), bias: tensor([C], 13).data });
  const expected = conv.forward(x).data;
  const modes = ['queued', 'delayed', 'looping'];
  const rounds = [];
  const mainCalls = [];
  for (let round = 0; round < 12; round++) {
    for (let i = 0; i < 8; i++) mainCalls.push(conv.forwardAsync(x));
    const mode = modes[round % modes.length];
    const worker = new Worker(WORKER, { eval: true, workerData: { entry: path.join(DIST, 'index.js'), mode } });
    const errors = [];
    worker.on('error', (error) => errors.push(String(error)));
    const { queued } = await new Promise((resolve) => worker.once('message', resolve));
    if (mode !== 'queued') await sleep(1 + (round % 4));
    const exitCode = await worker.terminate();
    rounds.push({ mode, queued, exitCode, errors });
  }
  const results = await Promise.allSettled(mainCalls);
  const mainWrong = results.filter((r) => r.status !== 'fulfilled' || !same(r.value.data, expected)).length;
  // Completions of the terminated workers' calls are dropped with their environments; their queue
  // places must come back (a leak here would end with every call refused with ERR_QUEUE_FULL).
  let waitedMs = 0;
  while (lib.backend().queue.calls !== 0 && waitedMs < 5000) { await sleep(10); waitedMs += 10; }
  const queueAfter = lib.backend().queue;
  const after = await conv.forwardAsync(x);
  report({ rounds, mainCalls: mainCalls.length, mainWrong, queueAfter, waitedMs, afterCorrect: same(after.data, expected) });
  // No process.exit(): the process must end by itself once nothing is pending.
}

main().catch((error) => { console.error(error); process.exitCode = 1; });
