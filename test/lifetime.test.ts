// Lifetime and fault tests. Each scenario runs in its own child process (test/lifetime-scripts/*.cjs,
// on the built package in dist/), which must end by itself or through process.exit with status 0, no
// signal and nothing on stderr, and print one report line of what it checked; the report is checked
// here. The scenarios: process.exit() with calls in flight; worker.terminate() with calls in flight;
// layer.close() and dropped layers under gc(); buffers transferred or detached during a call; gc()
// storms during 2,000 calls; fork (child_process.spawn) during compute; a CONV1X1_BLAS that is not a
// BLAS; and the bounded queue (ERR_QUEUE_FULL, setQueueLimits, CONV1X1_MAX_QUEUED_*).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { availableBackends } from '../lib/internal';
import { findLibrary, requireBuiltPackage, ROOT } from './package-helpers';
import { expectClose, referenceConv, seededFloats, type RefCase } from './reference';

const SCRIPTS = path.join(__dirname, 'lifetime-scripts');
const REPORT_PREFIX = 'LIFETIME-REPORT ';
const MB = 2 ** 20;
const ENGINES = (['builtin', 'blas'] as const).filter((engine) => availableBackends().includes(engine));
// Under scripts/test-asan.sh the children run the sanitized addon with ASan's allocator, whose
// quarantine keeps freed memory: RSS bounds measured with glibc's malloc do not apply there.
const UNDER_ASAN = /libasan\.so/.test(process.env.LD_PRELOAD ?? '');

// Reports are JSON from the child processes, checked field by field below.
type Report = any;

interface ScriptOptions {
  args?: (string | number)[];
  env?: Record<string, string | undefined>;
  gc?: boolean;
  timeoutMs?: number;
}

/**
 * Runs a lifetime script in a fresh node process and returns its report. The process must exit with
 * status 0 and no signal (a hang is killed at the timeout and fails here as a signal), write nothing
 * to stderr, and print exactly one report line.
 */
function runScript(script: string, { args = [], env = {}, gc = false, timeoutMs = 60_000 }: ScriptOptions = {}): Report {
  const merged: Record<string, string | undefined> = {
    ...process.env,
    // The scenarios choose these themselves.
    CONV1X1_ENGINE: undefined,
    CONV1X1_MAX_QUEUED_CALLS: undefined,
    CONV1X1_MAX_QUEUED_BYTES: undefined,
    ...env,
  };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  const nodeArgs = [...(gc ? ['--expose-gc'] : []), path.join(SCRIPTS, script), ...args.map(String)];
  const run = spawnSync(process.execPath, nodeArgs, { cwd: ROOT, env: merged as NodeJS.ProcessEnv, encoding: 'utf8', timeout: timeoutMs });
  const what = `${script} ${args.join(' ')}`.trim();
  expect({ status: run.status, signal: run.signal, stderr: run.stderr, error: run.error?.message }, what)
    .toEqual({ status: 0, signal: null, stderr: '', error: undefined });
  const lines = run.stdout.split('\n').filter((line) => line.startsWith(REPORT_PREFIX));
  expect(lines, `${what}: report lines in ${JSON.stringify(run.stdout)}`).toHaveLength(1);
  return JSON.parse(lines[0].slice(REPORT_PREFIX.length));
}

const codeOf = (outcome: Report) => (typeof outcome === 'string' ? outcome : `${outcome.name} ${outcome.code}`);

beforeAll(requireBuiltPackage);

describe('process.exit() while async calls are in flight', () => {
  const runs = ENGINES.flatMap((engine) => [0, 3, 12].map((delay) => [engine, delay] as const));
  it.each(runs)('exits cleanly on %s, %i ms after launching 200 calls', (engine, delay) => {
    const r = runScript('exit-in-flight.cjs', { args: [delay, engine] });
    console.log(`exit on ${engine} after ${delay} ms: ${r.settled} of ${r.launched} calls settled, ${r.inFlight} still in flight`);
    expect(r.launched).toBe(200);
    expect(r.inFlight).toBeGreaterThan(0);  // the exit really came with calls queued or running
    expect(r.settled).toBeLessThan(200);
    expect(r.wrong).toBe(0);
    expect(r.rejected).toBe(0);
  });
});

describe('worker.terminate() while a worker has calls in flight', () => {
  // worker-threads.test.ts terminates workers with queued calls in the test process itself. This adds
  // the main thread's own calls in flight at the same moments, workers terminated inside a loop of
  // sync calls, the process-wide queue places given back, and a child process that must then end by
  // itself.
  it('keeps the main thread\'s calls correct, gives back every queue place, and exits by itself', () => {
    const r = runScript('terminate-in-flight.cjs');
    expect(r.rounds).toHaveLength(12);
    for (const round of r.rounds) {
      expect(round.exitCode, JSON.stringify(round)).toBe(1);
      expect(round.errors).toEqual([]);
      expect(round.queued, `${round.mode}: calls in flight when terminated`).toBeGreaterThan(0);
    }
    expect(r.mainCalls).toBe(96);
    expect(r.mainWrong).toBe(0);
    expect(r.queueAfter).toMatchObject({ calls: 0, bytes: 0 });
    expect(r.afterCorrect).toBe(true);
  });
});

describe('layer.close()', () => {
  it('lets running calls finish, resolves after them, then refuses every call with ERR_CLOSED, for every layer kind', () => {
    const r = runScript('close-layers.cjs');
    const kinds = r.kinds.map((k: Report) => k.kind);
    expect(kinds).toEqual(['Conv1x1', 'DepthwiseConv2d', 'Linear', 'SeparableConv2d', 'Residual', 'Sequential']);
    const closed = { name: 'Conv1x1Error', code: 'ERR_CLOSED', message: expect.stringMatching(/ layer was closed; create a new one to run it again$/) };
    for (const k of r.kinds) {
      const label = k.kind;
      // The calls running at close() resolve with the sync result, and close() resolves after the last.
      expect(k.failures, label).toEqual([]);
      expect(k.correct, label).toBe(6);
      expect(k.closeOrder, `${label}: close() resolved before a call it waited for`).toBeGreaterThan(k.lastCallOrder);
      // From the moment close() is called: forward throws, forwardAsync rejects (never throws).
      expect(k.forwardWhileClosing, label).toEqual({ ...closed, message: `the ${label} layer was closed; create a new one to run it again` });
      expect(k.asyncThrewSync, label).toBe(false);
      expect(k.asyncWhileClosing, label).toEqual(closed);
      expect(k.forwardAfter, label).toEqual(closed);
      expect(k.asyncAfter, label).toEqual(closed);
      expect(k.isConv1x1Error, label).toBe(true);
      if (label === 'Conv1x1') {
        expect(k.backendWhileClosing).toEqual(closed);
        expect(k.backendAfter).toEqual(closed);
      }
      // Composites close their parts.
      const parts: Record<string, number> = { Conv1x1: 0, DepthwiseConv2d: 0, Linear: 0, SeparableConv2d: 2, Residual: 3, Sequential: 4 };
      expect(k.partsAfter, label).toHaveLength(parts[label]);
      for (const part of k.partsAfter) expect(part, label).toEqual(closed);
      expect(k.secondClose, label).toBe('resolved');
    }
    expect(r.idleClose).toBe('resolved');
    // Counting calls in flight must not mark their promises handled: an unhandled ERR_CLOSED is reported.
    expect(r.unhandled).toEqual(kinds.map((kind: string) => `ERR_CLOSED: the ${kind} layer was closed; create a new one to run it again`));
    expect(r.queueAfter).toMatchObject({ calls: 0, bytes: 0 });
  });

  it('leaves calls correct when their layer is dropped without close() and gc() runs while they do', () => {
    const r = runScript('gc-dropped.cjs', { gc: true });
    console.log(`dropped layers: ${r.calls} calls, ${r.gcs} gc() runs; finalized (what, calls settled then): ${JSON.stringify(r.finalized)}`);
    expect(r.wrong).toEqual([]);
    expect(r.calls).toBe(180);
    expect(r.gcs).toBeGreaterThan(1);
    const finalized = new Map<string, number>(r.finalized);
    expect([...finalized.keys()].sort()).toEqual(['conv', 'depthwise', 'model', 'native PreparedConv', 'native PreparedDepthwise']);
    // The bare native objects were finalized while their own calls (the last 80) were still running.
    expect(finalized.get('native PreparedConv') ?? Infinity).toBeLessThan(r.calls);
    expect(finalized.get('native PreparedDepthwise') ?? Infinity).toBeLessThan(r.calls);
    expect(r.queueAfter).toMatchObject({ calls: 0, bytes: 0 });
  });
});

describe('buffers transferred or detached while a call runs', () => {
  // async.test.ts covers conv1x1Async with its input and out detached by structuredClone, and
  // depthwise.test.ts the depthwise input. This covers every layer kind, transfers to another thread
  // (postMessage) and to a MessageChannel, a resizable input shrunk to nothing, and a transferred out.
  it('snapshots the input at the call, and rejects with ERR_BUFFER_DETACHED when out is taken away', () => {
    const r = runScript('transfer-buffers.cjs');
    const targets = ['Conv1x1', 'DepthwiseConv2d', 'Linear', 'Sequential', 'Residual', 'conv1x1Async'];
    const hasTransfer = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';
    expect(r.arrayBufferTransfer).toBe(hasTransfer);  // Node 20 has no ArrayBuffer.prototype.transfer
    const ways = ['postMessage to a worker', 'MessageChannel port', 'structuredClone', 'resizable buffer shrunk to 0',
      ...(hasTransfer ? ['ArrayBuffer.prototype.transfer'] : [])];
    expect(r.inputs).toHaveLength(targets.length * ways.length);
    for (const c of r.inputs) {
      expect(c, `${c.target}, input taken by ${c.how}`).toEqual({ target: c.target, how: c.how, detached: true, correct: true });
    }
    expect(r.outs.map((o: Report) => o.target)).toEqual(targets);
    for (const o of r.outs) {
      expect(o.detached, o.target).toBe(true);
      expect(o.outcome, o.target).toMatchObject({ name: 'TypeError', code: 'ERR_BUFFER_DETACHED' });
      expect(o.untouched, `${o.target}: the transferred out was written`).toBe(true);
    }
    expect(r.queueAfter).toMatchObject({ calls: 0, bytes: 0 });
  });
});

describe('gc() forced on every turn during 2,000 async calls of mixed shapes', () => {
  it('gives every call the exact sync result, and the float64 reference on the functional ones', () => {
    const r = runScript('gc-storm.cjs', { gc: true });
    console.log(`gc storm: ${r.calls} calls in ${r.seconds.toFixed(2)} s with ${r.gcs} gc() runs`);
    expect(r.failures).toEqual([]);
    expect(r.calls).toBe(2000);
    expect(r.gcs).toBeGreaterThanOrEqual(20);
    expect(r.kinds).toHaveLength(10);
    for (const kind of r.kinds) expect(kind, kind.name).toEqual({ name: kind.name, calls: 200, wrong: 0 });
    expect(r.references.length).toBeGreaterThanOrEqual(3);
    for (const ref of r.references) {
      const c = ref.ref as RefCase;
      const inputShape = c.layout === 'nhwc' ? [c.batch, c.height, c.width, c.inChannels] : [c.batch, c.inChannels, c.height, c.width];
      const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
      const expected = referenceConv(c,
        seededFloats(count(inputShape), ref.inputSeed),
        seededFloats(c.outChannels * (c.inChannels / (c.groups ?? 1)), ref.weightSeed),
        seededFloats(c.outChannels, ref.biasSeed));
      expectClose(Float32Array.from(ref.output), expected, `${ref.name}, input ${ref.which}`);
    }
    expect(r.queueAfter).toMatchObject({ calls: 0, bytes: 0 });
  });
});

describe('child_process.spawn in a loop while convolutions run on every thread', () => {
  it.each(ENGINES)('neither hangs nor crashes, and results stay exact (%s)', (engine) => {
    const r = runScript('spawn-during-compute.cjs', { args: [engine], timeoutMs: 30_000 });
    console.log(`spawn on ${r.layer}: ${r.spawns} children, ${r.asyncCalls} async + ${r.syncCalls} sync calls in ${r.seconds.toFixed(2)} s`);
    expect(r.skipped).toBeUndefined();
    if (engine === 'builtin') expect(r.layer).toMatch(/^builtin /);
    else expect(r.layer).not.toMatch(/^builtin/);
    expect(r.threads).toBe(r.cores);
    expect(r.spawns).toBe(50);
    expect(r.childFailures).toEqual([]);
    expect(r.asyncCalls).toBeGreaterThan(0);
    expect(r.syncCalls).toBe(10);
    expect(r.wrong).toBe(0);
    expect(r.queueAfter).toMatchObject({ calls: 0, bytes: 0 });
  });
});

describe('CONV1X1_BLAS naming a file that is not a usable BLAS', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'conv1x1-blas-'));
    writeFileSync(path.join(dir, 'libnotblas.so'), 'This is a text file, not a shared library.\n'.repeat(40));
    writeFileSync(path.join(dir, 'libempty.so'), '');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const zlib = findLibrary('libz.so.1') ?? '/usr/lib/x86_64-linux-gnu/libz.so.1';
  it.each([
    ['a shared library that is not a BLAS', () => zlib, /has no cblas_sgemm symbol: it is not a CBLAS library$/],
    ['a text file', () => path.join(dir, 'libnotblas.so'), /invalid ELF header|file too short/],
    ['an empty file', () => path.join(dir, 'libempty.so'), /file too short/],
  ])('fails every 1×1 call and backend() with ERR_BLAS_LOAD and the reason: %s', (_, library, reason) => {
    const file = library();
    const r = runScript('blas-load.cjs', { env: { CONV1X1_BLAS: file } });
    expect(r.library).toBe(file);
    const prefix = `CONV1X1_BLAS=${file} could not be used: `;
    const outcomes = r.outcomes as Record<string, Report>;
    // Layers are made without touching the BLAS; running them is what fails.
    expect(outcomes['new Conv1x1']).toBe('no error');
    expect(outcomes['new Linear']).toBe('no error');
    const failing = Object.keys(outcomes).filter((name) => !name.startsWith('new '));
    expect(failing).toEqual([
      'backend()', 'conv1x1', 'conv1x1Async', 'Conv1x1.forward', 'Conv1x1.forwardAsync', 'Conv1x1.backend(shape)',
      'Linear.forward', 'Linear.forwardAsync', 'Sequential.forward', 'Sequential.forwardAsync', 'setThreads', 'setEngine',
    ]);
    for (const name of failing) {
      expect(codeOf(outcomes[name]), name).toBe('Conv1x1Error ERR_BLAS_LOAD');
      expect(outcomes[name].message, name).toBe(outcomes['backend()'].message);
    }
    expect(outcomes['backend()'].message.startsWith(prefix)).toBe(true);
    expect(outcomes['backend()'].message.slice(prefix.length)).toMatch(reason);
    // The depthwise kernel never uses a BLAS.
    expect(r.depthwise).toEqual({ sync: 'no error', async: 'resolved' });
  });
});

describe('the bounded queue of async calls', () => {
  it('serves or refuses with ERR_QUEUE_FULL each of 10,000 concurrent calls, and gives the memory back', () => {
    const r = runScript('queue-burst.cjs', { gc: true, args: [2] });
    const { limits, callBytes } = r;
    // Each call without `out` holds its input snapshot and its new output.
    const perCall = 2 * callBytes;
    const admitted = Math.min(limits.calls, Math.floor(limits.bytes / perCall));
    r.rounds.forEach((round: Report, i: number) => {
      console.log(`burst ${i + 1}: ${round.served} served, ${round.queueFull} refused with ERR_QUEUE_FULL (bound: ${admitted} calls of ` +
        `${(perCall / MB).toFixed(2)} MB); launched in ${round.launchedMs.toFixed(0)} ms, settled in ${round.seconds.toFixed(2)} s; ` +
        `RSS before ${round.rssBeforeMB.toFixed(0)} MB, peak ${round.rssPeakMB.toFixed(0)} MB, after gc ${round.rssAfterMB.toFixed(0)} MB`);
      expect(round.other, `round ${i + 1}: outcomes other than served or ERR_QUEUE_FULL`).toEqual([]);
      expect(round.wrong).toBe(0);
      expect(round.served + round.queueFull).toBe(r.calls);
      expect(round.served).toBeGreaterThanOrEqual(admitted);  // the whole bound's worth is served
      expect(round.served).toBeLessThanOrEqual(limits.calls);
      expect(round.peakQueue).toBeLessThanOrEqual(limits.calls);
      expect(round.queueAfter).toMatchObject({ calls: 0, bytes: 0 });
    });
    if (UNDER_ASAN) return;
    const [first, second] = r.rounds;
    const bytesBoundMB = limits.bytes / MB;
    // The queue's byte bound bounds the burst's memory: measured peak +750–1,100 MB over a 1,024 MB bound.
    for (const round of r.rounds) expect(round.rssPeakMB - first.rssBeforeMB).toBeLessThan(bytesBoundMB * 1.25 + 64);
    // After the first burst, gc gives it back: measured +40 MB.
    expect(first.rssAfterMB - first.rssBeforeMB).toBeLessThan(96);
    // After the second, glibc keeps the freed heap (its mmap threshold rose when the first burst's
    // buffers were freed, so the second's came from the heap): measured +1,050 MB. Bounded by the
    // queue's byte bound, not growing with more bursts.
    expect(second.rssAfterMB - first.rssBeforeMB).toBeLessThan(bytesBoundMB * 1.25 + 64);
  });

  it('setQueueLimits: the 9th concurrent call of 8 allowed is refused, limits read back, bad arguments throw coded errors', () => {
    const r = runScript('queue-limits.cjs', { args: ['api'] });
    expect(r.afterCalls8).toMatchObject({ maxCalls: 8, maxBytes: 2 ** 30 });
    expect(r.nine).toEqual({ counts: { served: 8, ERR_QUEUE_FULL: 1 }, last: 'ERR_QUEUE_FULL' });
    expect(r.queueWhileHeld).toMatchObject({ calls: 8, bytes: 8 * r.callBytes, maxCalls: 8 });
    expect(r.refusal).toEqual({
      name: 'Conv1x1Error',
      code: 'ERR_QUEUE_FULL',
      isConv1x1Error: true,
      message: `too many async calls in flight: 8 calls holding ${8 * r.callBytes} bytes, and this one needs ${r.callBytes} more ` +
        '(limits: 8 calls, 1073741824 bytes); retry when some have settled, or raise the limits with setQueueLimits()',
    });
    // A limit left out keeps its value.
    expect(r.afterBytes).toMatchObject({ maxCalls: 64, maxBytes: 4 * r.callBytes });
    expect(r.byBytes).toEqual({ counts: { served: 4, ERR_QUEUE_FULL: 4 }, last: 'ERR_QUEUE_FULL' });
    // A call larger than the byte bound still runs when it is alone.
    expect(r.aloneOverBytes).toEqual({ counts: { served: 1 }, last: 'served' });
    const codes = Object.fromEntries(Object.entries(r.bad as Record<string, Report>).map(([label, e]) => [label, codeOf(e)]));
    expect(codes).toEqual({
      'undefined': 'TypeError ERR_INVALID_ARG_TYPE',
      'null': 'TypeError ERR_INVALID_ARG_TYPE',
      '5': 'TypeError ERR_INVALID_ARG_TYPE',
      '"8"': 'TypeError ERR_INVALID_ARG_TYPE',
      '[8]': 'TypeError ERR_INVALID_ARG_TYPE',
      '{ calls: 0 }': 'RangeError ERR_OUT_OF_RANGE',
      '{ calls: -1 }': 'RangeError ERR_OUT_OF_RANGE',
      '{ calls: 1.5 }': 'RangeError ERR_OUT_OF_RANGE',
      '{ calls: NaN }': 'RangeError ERR_OUT_OF_RANGE',
      '{ calls: Infinity }': 'RangeError ERR_OUT_OF_RANGE',
      '{ calls: 2 ** 53 }': 'RangeError ERR_OUT_OF_RANGE',
      '{ calls: "8" }': 'TypeError ERR_INVALID_ARG_TYPE',
      '{ bytes: 0 }': 'RangeError ERR_OUT_OF_RANGE',
      '{ bytes: 10n }': 'TypeError ERR_INVALID_ARG_TYPE',
      '{ call: 8 }': 'TypeError ERR_UNKNOWN_OPTION',
    });
    expect(r.bad['{ call: 8 }'].message).toMatch(/did you mean 'calls'\?/);
    expect(r.bad['{ calls: 0 }'].message).toBe('limits.calls must be a positive integer but received 0 of type number');
    // Refused arguments change nothing.
    expect(r.afterBad).toMatchObject({ maxCalls: 64, maxBytes: 1 });
    expect(r.final).toEqual({ calls: 0, bytes: 0, maxCalls: 1024, maxBytes: 2 ** 30 });
  });

  it.each([
    ['CONV1X1_MAX_QUEUED_CALLS=3', { CONV1X1_MAX_QUEUED_CALLS: '3' }, { maxCalls: 3, maxBytes: 2 ** 30 }, { served: 3, ERR_QUEUE_FULL: 1 }],
    ['CONV1X1_MAX_QUEUED_BYTES=5000', { CONV1X1_MAX_QUEUED_BYTES: '5000' }, { maxCalls: 1024, maxBytes: 5000 }, { served: 1, ERR_QUEUE_FULL: 15 }],
    ['CONV1X1_MAX_QUEUED_CALLS=abc (ignored)', { CONV1X1_MAX_QUEUED_CALLS: 'abc' }, { maxCalls: 1024, maxBytes: 2 ** 30 }, { served: 16 }],
    ['CONV1X1_MAX_QUEUED_CALLS=0 (ignored)', { CONV1X1_MAX_QUEUED_CALLS: '0' }, { maxCalls: 1024, maxBytes: 2 ** 30 }, { served: 16 }],
  ])('%s applies at startup', (_, env, limits, counts) => {
    const r = runScript('queue-limits.cjs', { args: ['environment'], env });
    expect(r.atStart).toEqual({ calls: 0, bytes: 0, ...limits });
    expect(r.outcome.counts).toEqual(counts);
    expect(r.final).toEqual({ calls: 0, bytes: 0, ...limits });
  });
});
