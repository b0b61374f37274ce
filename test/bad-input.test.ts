// Every kind of bad input gets a synchronous throw (a rejection for the async forms) with the
// documented class and code: never a crash, a hang or a wrong answer.
import { describe, expect, it } from 'vitest';

import { native } from '../lib/binding';
import { backend, conv1x1, conv1x1Async, Conv1x1, Conv1x1Error, Tensor, setThreads } from '../lib/index';
import { expectClose, referenceConv, seededFloats } from './reference';

type ErrorClass = typeof TypeError | typeof RangeError | typeof Conv1x1Error;

const x = () => new Tensor(seededFloats(2 * 4 * 3 * 3, 1), [2, 4, 3, 3]);
const w = () => new Tensor(seededFloats(6 * 4, 2), [6, 4]);

async function expectBoth(
  args: [unknown, unknown, unknown?],
  errorClass: ErrorClass,
  code: string,
  messagePart?: RegExp,
): Promise<void> {
  let thrown: unknown;
  try {
    conv1x1(...(args as Parameters<typeof conv1x1>));
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'sync call must throw').toBeInstanceOf(errorClass);
  expect((thrown as { code: string }).code).toBe(code);
  if (messagePart) expect((thrown as Error).message).toMatch(messagePart);
  let promise: Promise<unknown> | undefined;
  expect(() => {
    promise = conv1x1Async(...(args as Parameters<typeof conv1x1Async>));
  }, 'async call must not throw synchronously').not.toThrow();
  const rejection = await promise!.then(
    () => expect.fail('async call must reject'),
    (error: unknown) => error,
  );
  expect(rejection).toBeInstanceOf(errorClass);
  expect((rejection as { code: string }).code).toBe(code);
}

describe('tensor arguments', () => {
  it.each([
    ['an Array', [1, 2, 3]],
    ['a Float64Array', new Float64Array(72)],
    ['a Uint8Array', new Uint8Array(288)],
    ['a Buffer', Buffer.alloc(288)],
    ['a DataView', new DataView(new ArrayBuffer(288))],
    ['null', null],
  ])('rejects data that is %s', async (_, data) => {
    await expectBoth([{ data, shape: [2, 4, 3, 3] }, w()], TypeError, 'ERR_INVALID_ARG_TYPE', /input\.data must be a Float32Array/);
  });

  it('rejects inputs that are not tensors at all', async () => {
    await expectBoth([new Float32Array(72), w()], TypeError, 'ERR_INVALID_ARG_TYPE', /input must be a Tensor/);
    await expectBoth([undefined, w()], TypeError, 'ERR_INVALID_ARG_TYPE');
    await expectBoth([x(), 'weights'], TypeError, 'ERR_INVALID_ARG_TYPE', /weight must be a Tensor/);
    await expectBoth([{ data: new Float32Array(72), shape: '2,4,3,3' }, w()], TypeError, 'ERR_INVALID_ARG_TYPE', /shape must be an array/);
  });

  it('rejects a data length that is not the product of the shape', async () => {
    await expectBoth([{ data: new Float32Array(71), shape: [2, 4, 3, 3] }, w()], Conv1x1Error, 'ERR_SHAPE_MISMATCH', /input\.data has 71 elements but input\.shape \[2, 4, 3, 3\] needs 72/);
    await expectBoth([x(), { data: new Float32Array(23), shape: [6, 4] }], Conv1x1Error, 'ERR_SHAPE_MISMATCH', /weight\.data has 23/);
  });

  it('rejects the wrong rank', async () => {
    await expectBoth([{ data: new Float32Array(36), shape: [4, 3, 3] }, w()], Conv1x1Error, 'ERR_SHAPE_MISMATCH', /input\.shape must have 4 dimensions/);
    await expectBoth([x(), { data: new Float32Array(24), shape: [24] }], Conv1x1Error, 'ERR_SHAPE_MISMATCH', /weight\.shape must have 2 or 4/);
    await expectBoth([x(), { data: new Float32Array(24 * 9), shape: [6, 4, 3, 3] }], Conv1x1Error, 'ERR_SHAPE_MISMATCH', /kernel is 3×3 but must be 1×1/);
  });

  it.each([
    ['non-integer', 2.5, RangeError, 'ERR_OUT_OF_RANGE'],
    ['negative', -1, RangeError, 'ERR_OUT_OF_RANGE'],
    ['NaN', Number.NaN, RangeError, 'ERR_OUT_OF_RANGE'],
    ['Infinity', Number.POSITIVE_INFINITY, RangeError, 'ERR_OUT_OF_RANGE'],
    ['huge', 2 ** 40, RangeError, 'ERR_OUT_OF_RANGE'],
    ['a string', '2', TypeError, 'ERR_INVALID_ARG_TYPE'],
  ] as const)('rejects a %s dimension', async (_, dim, errorClass, code) => {
    await expectBoth([{ data: new Float32Array(72), shape: [dim, 4, 3, 3] }, w()], errorClass, code, /input\.shape\[0\]/);
  });

  it('checks every index of a sparse shape array, and Tensor.zeros its argument', async () => {
    // eslint-disable-next-line no-sparse-arrays
    await expectBoth([{ data: new Float32Array(12), shape: [1, , 3, 4] }, w()], TypeError, 'ERR_INVALID_ARG_TYPE', /input\.shape\[1\] must be a number but received undefined/);
    expect(() => Tensor.zeros(null as unknown as number[])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => Tensor.zeros([2, -1])).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => new Conv1x1({ inChannels: 4, outChannels: 6, weight: w() }).outputShape('x' as unknown as number[])).toThrow(TypeError);
  });

  it('rejects sizes whose product overflows', async () => {
    const huge = 2 ** 31 - 1;
    await expectBoth([{ data: new Float32Array(4), shape: [huge, 4, huge, huge] }, w()], RangeError, 'ERR_TOO_LARGE');
    // Padding that would make the output larger than a Float32Array can be.
    await expectBoth([{ data: new Float32Array(4), shape: [1, 4, 1, 1] }, w(), { padding: 2 ** 17 }], RangeError, 'ERR_TOO_LARGE', /output/);
  });

  it('rejects a detached buffer', async () => {
    const input = x();
    structuredClone(input.data.buffer, { transfer: [input.data.buffer] });
    await expectBoth([input, w()], TypeError, 'ERR_BUFFER_DETACHED', /detached/);
  });

  it('copies SharedArrayBuffer- and resizable-buffer-backed inputs, and computes correctly', async () => {
    const plain = x(), weight = w();
    const expected = referenceConv({ batch: 2, inChannels: 4, outChannels: 6, height: 3, width: 3 }, plain.data, weight.data, null);
    const shared = new Float32Array(new SharedArrayBuffer(72 * 4));
    shared.set(plain.data);
    // Resizable buffers exist in Node 20 but not yet in the ES2022 typings.
    const Resizable = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ArrayBuffer;
    const resizable = new Float32Array(new Resizable(72 * 4, { maxByteLength: 1024 }));
    resizable.set(plain.data);
    for (const data of [shared, resizable]) {
      expectClose(conv1x1({ data, shape: [2, 4, 3, 3] }, weight).data, expected, 'volatile input');
      expectClose((await conv1x1Async({ data, shape: [2, 4, 3, 3] }, weight)).data, expected, 'volatile input async');
    }
  });
});

describe('shape relations', () => {
  it('names the channel mismatch', async () => {
    await expectBoth([{ data: new Float32Array(2 * 3 * 9), shape: [2, 3, 3, 3] }, w()], Conv1x1Error, 'ERR_SHAPE_MISMATCH', /input\.shape\[1\] is 3 but weight \[6, 4\] × groups 1 expects 4 input channels/);
    await expectBoth([x(), w(), { layout: 'nhwc' }], Conv1x1Error, 'ERR_SHAPE_MISMATCH', /input\.shape\[3\] is 3/);
  });

  it('rejects groups that do not divide both channel counts', async () => {
    const input = new Tensor(new Float32Array(6 * 4), [1, 6, 2, 2]);
    await expectBoth([input, new Tensor(new Float32Array(4 * 2), [4, 2]), { groups: 3 }], Conv1x1Error, 'ERR_SHAPE_MISMATCH', /groups is 3 but must divide/);
    await expectBoth([x(), w(), { groups: 0 }], RangeError, 'ERR_OUT_OF_RANGE', /options\.groups/);
  });

  it('rejects a bias of the wrong length or kind', async () => {
    await expectBoth([x(), w(), { bias: new Float32Array(5) }], Conv1x1Error, 'ERR_SHAPE_MISMATCH', /bias has 5 elements but the convolution has 6/);
    await expectBoth([x(), w(), { bias: new Tensor(new Float32Array(6), [2, 3]) }], Conv1x1Error, 'ERR_SHAPE_MISMATCH');
    await expectBoth([x(), w(), { bias: [1, 2, 3, 4, 5, 6] }], TypeError, 'ERR_INVALID_ARG_TYPE');
    await expectBoth([x(), w(), { bias: new Float64Array(6) }], TypeError, 'ERR_INVALID_ARG_TYPE');
  });

  it('rejects out of the wrong shape, kind or memory', async () => {
    await expectBoth([x(), w(), { out: Tensor.zeros([2, 6, 3, 2]) }], Conv1x1Error, 'ERR_SHAPE_MISMATCH', /out\.shape is \[2, 6, 3, 2\] but the output shape is \[2, 6, 3, 3\]/);
    await expectBoth([x(), w(), { out: new Float32Array(108) }], TypeError, 'ERR_INVALID_ARG_TYPE');
    const shared = new Float32Array(new SharedArrayBuffer(108 * 4));
    await expectBoth([x(), w(), { out: { data: shared, shape: [2, 6, 3, 3] } }], TypeError, 'ERR_INVALID_ARG_TYPE', /SharedArrayBuffer/);
  });

  it('rejects out overlapping the input, weight or bias', async () => {
    const backing = new Float32Array(400);
    const input = { data: backing.subarray(0, 72), shape: [2, 4, 3, 3] };
    await expectBoth([input, w(), { out: { data: backing.subarray(50, 158), shape: [2, 6, 3, 3] } }], Conv1x1Error, 'ERR_OVERLAP', /input/);
    const weight = { data: backing.subarray(200, 224), shape: [6, 4] };
    await expectBoth([x(), weight, { out: { data: backing.subarray(100, 208), shape: [2, 6, 3, 3] } }], Conv1x1Error, 'ERR_OVERLAP', /weight/);
    const bias = backing.subarray(300, 306);
    await expectBoth([x(), w(), { bias, out: { data: backing.subarray(200, 308), shape: [2, 6, 3, 3] } }], Conv1x1Error, 'ERR_OVERLAP', /bias/);
    // Adjacent but disjoint is fine.
    expect(conv1x1(input, w(), { out: { data: backing.subarray(72, 180), shape: [2, 6, 3, 3] } }).shape).toEqual([2, 6, 3, 3]);
  });
});

describe('options', () => {
  it('rejects an unknown activation or layout', async () => {
    await expectBoth([x(), w(), { activation: 'relux' }], RangeError, 'ERR_INVALID_ARG_VALUE', /options\.activation must be one of .* but received "relux"/);
    await expectBoth([x(), w(), { activation: 3 }], TypeError, 'ERR_INVALID_ARG_TYPE');
    await expectBoth([x(), w(), { layout: 'NCHW' }], RangeError, 'ERR_INVALID_ARG_VALUE');
  });

  it('rejects misspelled option names with a suggestion', async () => {
    await expectBoth([x(), w(), { group: 2 }], TypeError, 'ERR_UNKNOWN_OPTION', /options\.group is not a known option.*did you mean 'groups'/);
    await expectBoth([x(), w(), { Stride: 2 }], TypeError, 'ERR_UNKNOWN_OPTION', /did you mean 'stride'/);
    await expectBoth([x(), w(), { kernelSize: 1 }], TypeError, 'ERR_UNKNOWN_OPTION');
  });

  it('rejects bad stride, padding and negativeSlope values', async () => {
    await expectBoth([x(), w(), { stride: 0 }], RangeError, 'ERR_OUT_OF_RANGE', /options\.stride/);
    await expectBoth([x(), w(), { stride: [1, 2, 3] }], RangeError, 'ERR_OUT_OF_RANGE');
    await expectBoth([x(), w(), { stride: [1, 0.5] }], RangeError, 'ERR_OUT_OF_RANGE', /options\.stride\[1\]/);
    await expectBoth([x(), w(), { padding: -1 }], RangeError, 'ERR_OUT_OF_RANGE', /options\.padding/);
    await expectBoth([x(), w(), { padding: '1' }], TypeError, 'ERR_INVALID_ARG_TYPE');
    await expectBoth([x(), w(), { negativeSlope: Number.NaN }], RangeError, 'ERR_OUT_OF_RANGE');
    await expectBoth([x(), w(), 'relu'], TypeError, 'ERR_INVALID_ARG_TYPE', /options must be an object/);
  });

  it('rejects bad thread counts, including more threads than cores', () => {
    expect(() => setThreads(0)).toThrow(RangeError);
    expect(() => setThreads(backend().cores + 1)).toThrow(/threads must be an integer from 1 to/);
    expect(() => setThreads(1.5)).toThrow(RangeError);
    expect(() => setThreads('2' as unknown as number)).toThrow(TypeError);
  });
});

describe('Conv1x1 layer arguments', () => {
  const good = () => ({ inChannels: 4, outChannels: 6, weight: w() });
  const layerError = (options: unknown): unknown => {
    try {
      new Conv1x1(options as ConstructorParameters<typeof Conv1x1>[0]);
    } catch (error) {
      return error;
    }
    return expect.fail('constructor must throw');
  };

  it('names the layer and the dimension when the weight does not fit', () => {
    const error = layerError({ ...good(), inChannels: 8 });
    expect(error).toBeInstanceOf(Conv1x1Error);
    expect((error as Conv1x1Error).code).toBe('ERR_SHAPE_MISMATCH');
    expect((error as Error).message).toMatch(/Conv1x1 options\.weight has shape \[6, 4, …\] but outChannels 6 and inChannels 8/);
  });

  it('rejects bad options at construction', () => {
    expect((layerError({ ...good(), groups: 4 }) as Conv1x1Error).code).toBe('ERR_SHAPE_MISMATCH');
    expect((layerError({ ...good(), inChannel: 4 }) as TypeError).message).toMatch(/did you mean 'inChannels'/);
    expect(layerError({ ...good(), outChannels: -6 })).toBeInstanceOf(RangeError);
    expect(layerError({ ...good(), bias: new Float32Array(4) })).toBeInstanceOf(Conv1x1Error);
    expect(layerError(null)).toBeInstanceOf(TypeError);
  });

  it('checks inputs and out in forward and forwardAsync', async () => {
    const layer = new Conv1x1(good());
    const bad = { data: new Float32Array(2 * 5 * 9), shape: [2, 5, 3, 3] };
    expect(() => layer.forward(bad)).toThrow(/input\.shape\[1\] is 5 but the Conv1x1 layer expects 4 input channels/);
    await expect(layer.forwardAsync(bad)).rejects.toMatchObject({ code: 'ERR_SHAPE_MISMATCH' });
    await expect(layer.forwardAsync(x(), Tensor.zeros([1]))).rejects.toBeInstanceOf(Conv1x1Error);
    const input = x();
    await expect(layer.forwardAsync(input, input)).rejects.toMatchObject({ code: 'ERR_SHAPE_MISMATCH' });
  });
});

describe('the native boundary re-checks what memory safety depends on', () => {
  const params = { batch: 2, inChannels: 4, height: 3, width: 3, outChannels: 6, strideH: 1, strideW: 1, padH: 0, padW: 0, groups: 1, layout: 'nchw' as const, activation: 'none' as const, negativeSlope: 0.01 };
  const codeOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return (error as { code?: string }).code;
    }
    return 'no error';
  };

  const out = () => new Float32Array(108);

  it('rejects short buffers, wrong kinds, bad sizes and overlap without touching memory', () => {
    expect(codeOf(() => native.conv(params, new Float32Array(10), w().data, null, out()))).toBe('ERR_SHAPE_MISMATCH');
    expect(codeOf(() => native.conv(params, x().data, new Float32Array(3), null, out()))).toBe('ERR_SHAPE_MISMATCH');
    expect(codeOf(() => native.conv(params, x().data, w().data, new Float32Array(2), out()))).toBe('ERR_SHAPE_MISMATCH');
    expect(codeOf(() => native.conv(params, x().data, w().data, null, new Float32Array(5)))).toBe('ERR_SHAPE_MISMATCH');
    expect(codeOf(() => native.conv(params, x().data, w().data, null, null as unknown as Float32Array))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => native.conv(params, new Float64Array(72) as unknown as Float32Array, w().data, null, out()))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => native.conv({ ...params, batch: -1 }, x().data, w().data, null, out()))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => native.conv({ ...params, groups: 0 }, x().data, w().data, null, out()))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => native.conv({ ...params, activation: 'nope' as 'none' }, x().data, w().data, null, out()))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => native.conv({ ...params, batch: 2 ** 40, height: 2 ** 40 }, x().data, w().data, null, out()))).toBe('ERR_TOO_LARGE');
    const input = x();
    expect(codeOf(() => native.conv({ ...params, outChannels: 4 }, input.data, new Float32Array(16), null, input.data))).toBe('ERR_OVERLAP');
    const shared = new Float32Array(new SharedArrayBuffer(72 * 4));
    expect(codeOf(() => native.conv(params, shared, w().data, null, out()))).toBe('ERR_INVALID_ARG_TYPE');
    const detached = x().data;
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expect(codeOf(() => native.conv(params, detached, w().data, null, out()))).toBe('ERR_BUFFER_DETACHED');
  });
});
