// Async calls: equal to sync, correct under 200 concurrent calls, bounded concurrency (calls ×
// threads never exceed the cores), a free event loop, and safe when the caller detaches buffers
// while a call runs.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { backend, conv1x1, conv1x1Async, Conv1x1, setThreads, Tensor } from '../lib/index';
import { computeStats } from '../lib/internal';
import { BACKENDS, onBackend } from './backends';
import { expectClose, referenceConv, seededFloats, type RefCase } from './reference';

const initialThreads = backend().threads;
afterAll(() => setThreads(initialThreads));

function makeCase(seed: number): { c: RefCase; input: Tensor; weight: Tensor; bias: Float32Array } {
  const c: RefCase = {
    batch: 1 + (seed % 2),
    inChannels: 8 + (seed % 5) * 4,
    outChannels: 4 + (seed % 7),
    height: 3 + (seed % 4),
    width: 5,
    activation: (['relu', 'gelu', 'none', 'tanh'] as const)[seed % 4],
    layout: seed % 3 === 0 ? 'nhwc' : 'nchw',
    stride: seed % 5 === 0 ? [2, 2] : [1, 1],
  };
  const inputShape = c.layout === 'nhwc' ? [c.batch, c.height, c.width, c.inChannels] : [c.batch, c.inChannels, c.height, c.width];
  return {
    c,
    input: new Tensor(seededFloats(inputShape.reduce((a, b) => a * b, 1), seed), inputShape),
    weight: new Tensor(seededFloats(c.outChannels * c.inChannels, seed + 7), [c.outChannels, c.inChannels]),
    bias: seededFloats(c.outChannels, seed + 13),
  };
}

const opts = (c: RefCase, bias: Float32Array) => ({ bias, activation: c.activation, layout: c.layout, stride: c.stride });

describe.each(BACKENDS)('async on %s', (kind) => {
  beforeEach(() => onBackend(kind));

  it('gives exactly the sync result, functional and layer', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { c, input, weight, bias } = makeCase(seed);
      const sync = conv1x1(input, weight, opts(c, bias));
      const async = await conv1x1Async(input, weight, opts(c, bias));
      expect(async.shape).toEqual(sync.shape);
      expect(async.data).toEqual(sync.data);
      const layer = new Conv1x1({ inChannels: c.inChannels, outChannels: c.outChannels, weight, ...opts(c, bias) });
      expect((await layer.forwardAsync(input)).data).toEqual(layer.forward(input).data);
      const out = Tensor.zeros(sync.shape);
      expect((await layer.forwardAsync(input, out)).data).toBe(out.data);
      expect(out.data).toEqual(sync.data);
    }
  });

  it.each([
    ['threads = cores', 0],
    ['threads = 1', 1],
  ])('runs 200 concurrent calls correctly with bounded concurrency (%s)', async (_, threads) => {
    setThreads(threads === 0 ? backend().cores : threads);
    const info = backend();
    expect(info.maxConcurrentCalls).toBe(Math.max(1, Math.floor(info.cores / info.threads)));
    expect(info.maxConcurrentCalls * info.threads).toBeLessThanOrEqual(Math.max(info.cores, info.threads));
    computeStats(true);
    const cases = Array.from({ length: 200 }, (_, i) => makeCase(i + 1));
    const layers = cases.map(({ c, weight, bias }) =>
      new Conv1x1({ inChannels: c.inChannels, outChannels: c.outChannels, weight, ...opts(c, bias) }));
    const results = await Promise.all(cases.map(({ c, input, weight, bias }, i) =>
      i % 2 === 0 ? conv1x1Async(input, weight, opts(c, bias)) : layers[i].forwardAsync(input)));
    results.forEach((y, i) => {
      const { c, input, weight, bias } = cases[i];
      expectClose(y.data, referenceConv(c, input.data, weight.data, bias), `${kind} concurrent call ${i}`);
    });
    const stats = computeStats();
    console.log(`${kind}, ${info.threads} thread(s) per call: peak ${stats.peakConcurrentCalls} concurrent call(s) of ${info.maxConcurrentCalls} allowed`);
    expect(stats.peakConcurrentCalls).toBeGreaterThanOrEqual(1);
    expect(stats.peakConcurrentCalls).toBeLessThanOrEqual(info.maxConcurrentCalls);
    if (kind === 'blas' && info.name === 'openblas') expect(stats.threadsPerCall).toBe(info.threads);
  });

  it('keeps the event loop free while a long call runs', async () => {
    const input = new Tensor(seededFloats(4 * 256 * 64 * 64, 3), [4, 256, 64, 64]);
    const weight = new Tensor(seededFloats(256 * 256, 4), [256, 256]);
    let settled = false;
    const pending = conv1x1Async(input, weight).then((y) => {
      settled = true;
      return y;
    });
    let ticks = 0;
    while (!settled && ticks < 3) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      ticks++;
    }
    // The loop turned while the ~1 GFLOP call was still running on a worker thread.
    expect(ticks).toBe(3);
    expect(settled).toBe(false);
    expect((await pending).shape).toEqual([4, 256, 64, 64]);
  });

  it('snapshots inputs: transferring or changing them after the call does not change the result', async () => {
    const { c, input, weight, bias } = makeCase(42);
    const expected = referenceConv(c, input.data, weight.data, bias);
    const pending = conv1x1Async(input, weight, opts(c, bias));
    const moved = structuredClone(input.data.buffer, { transfer: [input.data.buffer] });
    new Float32Array(moved).fill(1e9);
    weight.data.fill(-1e9);
    expectClose((await pending).data, expected, `${kind} snapshot`);
  });

  it('rejects, without writing, when out is transferred while the call runs', async () => {
    const input = new Tensor(seededFloats(2 * 128 * 48 * 48, 5), [2, 128, 48, 48]);
    const weight = new Tensor(seededFloats(128 * 128, 6), [128, 128]);
    const out = Tensor.zeros([2, 128, 48, 48]);
    const pending = conv1x1Async(input, weight, { out });
    const moved = new Float32Array(structuredClone(out.data.buffer, { transfer: [out.data.buffer] }));
    moved.fill(7);
    await expect(pending).rejects.toMatchObject({ code: 'ERR_BUFFER_DETACHED' });
    expect(moved.every((v) => v === 7)).toBe(true);
  });

  it('keeps the caller\'s stack in rejections raised on the worker side', async () => {
    const out = Tensor.zeros([1, 64, 32, 32]);
    const pending = conv1x1Async(Tensor.zeros([1, 64, 32, 32]), Tensor.zeros([64, 64]), { out });
    structuredClone(out.data.buffer, { transfer: [out.data.buffer] });
    const error = (await pending.catch((e: Error) => e)) as Error;
    expect((error as Error & { code: string }).code).toBe('ERR_BUFFER_DETACHED');
    expect(error.stack).toContain('--- called from ---');
    expect(error.stack).toContain('async.test.ts');
  });
});
