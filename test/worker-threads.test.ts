// The addon in worker_threads: two workers and the main thread at once, each environment with its
// own state, all correct.
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { conv1x1 } from '../lib/index';
import { DIST_ENTRY, requireBuiltPackage, runNode } from './package-helpers';
import { expectClose, referenceConv, seededFloats } from './reference';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { conv1x1, conv1x1Async, Conv1x1 } = require(workerData.entry);
(async () => {
  const { input, weight, shape, outChannels, inChannels } = workerData;
  const x = { data: new Float32Array(input), shape };
  const w = { data: new Float32Array(weight), shape: [outChannels, inChannels] };
  const layer = new Conv1x1({ inChannels, outChannels, weight: w, activation: 'relu' });
  const results = [];
  for (let i = 0; i < 20; i++) {
    const sync = conv1x1(x, w, { activation: 'relu' });
    const viaLayer = await layer.forwardAsync(x);
    const async = await conv1x1Async(x, w, { activation: 'relu' });
    results.push(sync.data, viaLayer.data, async.data);
  }
  const first = results[0];
  const allEqual = results.every((r) => r.length === first.length && r.every((v, j) => v === first[j]));
  parentPort.postMessage({ allEqual, output: Array.from(first) });
})().catch((error) => parentPort.postMessage({ error: String(error && error.stack || error) }));
`;

function runWorker(seed: number): Promise<{ allEqual: boolean; output: number[]; error?: string }> {
  const inChannels = 24, outChannels = 16, shape = [2, inChannels, 5, 6];
  const workerData = {
    entry: DIST_ENTRY,
    input: Array.from(seededFloats(2 * inChannels * 30, seed)),
    weight: Array.from(seededFloats(outChannels * inChannels, seed + 1)),
    shape,
    inChannels,
    outChannels,
  };
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    worker.once('message', resolve);
    worker.once('error', reject);
    // An exit before the message means the worker's event loop ran dry with calls still pending.
    worker.once('exit', (code) => reject(new Error(`worker exited (code ${code}) before reporting`)));
  });
}

describe('worker_threads', () => {
  it('loads and computes correctly in two workers at once, beside the main thread', async () => {
    requireBuiltPackage();
    const seeds = [11, 23];
    const pending = seeds.map(runWorker);
    // The main thread computes at the same time.
    const x = { data: seededFloats(2 * 24 * 30, 5), shape: [2, 24, 5, 6] };
    const w = { data: seededFloats(16 * 24, 6), shape: [16, 24] };
    for (let i = 0; i < 20; i++) conv1x1(x, w);
    const results = await Promise.all(pending);
    results.forEach((result, i) => {
      expect(result.error).toBeUndefined();
      expect(result.allEqual).toBe(true);
      const input = seededFloats(2 * 24 * 30, seeds[i]);
      const weight = seededFloats(16 * 24, seeds[i] + 1);
      const ref = referenceConv({ batch: 2, inChannels: 24, outChannels: 16, height: 5, width: 6, activation: 'relu' }, input, weight, null);
      expectClose(Float32Array.from(result.output), ref, `worker ${i}`);
    });
  });

  it('survives a worker that exits while its async calls are queued', async () => {
    requireBuiltPackage();
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { conv1x1Async } = require(workerData);
      const x = { data: new Float32Array(64 * 64 * 64), shape: [1, 64, 64, 64] };
      const w = { data: new Float32Array(64 * 64), shape: [64, 64] };
      for (let i = 0; i < 50; i++) conv1x1Async(x, w);
      parentPort.postMessage('queued');
      process.exit(0);
    `;
    const worker = new Worker(source, { eval: true, workerData: DIST_ENTRY });
    const exitCode = await new Promise<number>((resolve) => worker.once('exit', resolve));
    expect(exitCode).toBe(0);
    // The main thread's addon is unaffected.
    const y = conv1x1({ data: new Float32Array([1, 2]), shape: [1, 2, 1, 1] }, { data: new Float32Array([3, 4]), shape: [1, 2] });
    expect(Array.from(y.data)).toEqual([11]);
  });

  it('survives worker.terminate() while calls are in flight, repeatedly', async () => {
    requireBuiltPackage();
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { conv1x1Async, Conv1x1 } = require(workerData);
      const x = { data: new Float32Array(128 * 64 * 64), shape: [1, 128, 64, 64] };
      const w = { data: new Float32Array(128 * 128), shape: [128, 128] };
      const layer = new Conv1x1({ inChannels: 128, outChannels: 128, weight: w });
      for (let i = 0; i < 30; i++) { conv1x1Async(x, w); layer.forwardAsync(x); }
      parentPort.postMessage('in flight');
    `;
    for (let i = 0; i < 10; i++) {
      const worker = new Worker(source, { eval: true, workerData: DIST_ENTRY });
      await new Promise((resolve) => worker.once('message', resolve));
      await new Promise((resolve) => setTimeout(resolve, i % 4));
      expect(await worker.terminate()).toBe(1);
    }
    const y = conv1x1({ data: new Float32Array([1, 2]), shape: [1, 2, 1, 1] }, { data: new Float32Array([3, 4]), shape: [1, 2] });
    expect(Array.from(y.data)).toEqual([11]);
  });

  it('keeps the process alive while a call waits for a slot that another thread holds', () => {
    requireBuiltPackage();
    // The worker holds the only slot with back-to-back sync calls; the main thread's async call must
    // wait for it, with nothing else keeping the main event loop alive (the worker is unref'd).
    const script = `
      const { Worker } = require('node:worker_threads');
      const { conv1x1Async, backend } = require(${JSON.stringify(DIST_ENTRY)});
      const worker = new Worker(\`
        const { conv1x1 } = require(${JSON.stringify(DIST_ENTRY)});
        const x = { data: new Float32Array(64 * 64 * 64), shape: [1, 64, 64, 64] };
        const w = { data: new Float32Array(64 * 64), shape: [64, 64] };
        const end = Date.now() + 300;
        while (Date.now() < end) conv1x1(x, w);
      \`, { eval: true });
      worker.unref();
      setTimeout(() => {
        conv1x1Async({ data: new Float32Array([1, 2]), shape: [1, 2, 1, 1] }, { data: new Float32Array([3, 4]), shape: [1, 2] })
          .then((y) => console.log('resolved ' + y.data[0] + ' with ' + backend().maxConcurrentCalls + ' slot(s)'));
      }, 50);
    `;
    const run = runNode(['-e', script], { CONV1X1_THREADS: undefined });
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^resolved 11 with \d+ slot/);
  });

  it('never aborts when the process exits while a worker is inside a call', () => {
    requireBuiltPackage();
    // A worker in a tight loop of sync and async calls; the process exits at a random moment. An
    // error raised while the worker's environment is torn down must be dropped, not abort the process
    // (seen here: ~2.5% of runs aborted before node-addon-api was told to swallow such errors).
    const script = `
      const { Worker } = require('node:worker_threads');
      const worker = new Worker(\`
        const { conv1x1, conv1x1Async } = require(${JSON.stringify(DIST_ENTRY)});
        const x = { data: new Float32Array(16 * 16 * 16), shape: [1, 16, 16, 16] };
        const w = { data: new Float32Array(16 * 16), shape: [16, 16] };
        require('node:worker_threads').parentPort.postMessage('go');
        for (;;) { conv1x1(x, w); conv1x1Async(x, w); }
      \`, { eval: true });
      worker.on('message', () => setTimeout(() => process.exit(0), Math.random() * 20));
    `;
    for (let i = 0; i < 30; i++) {
      const run = runNode(['-e', script]);
      expect({ status: run.status, signal: run.signal, stderr: run.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    }
  });
});
