// Our writers read back by our readers: safetensors (with metadata), .npy, and the streaming .npy writer,
// including its failure paths (abort, wrong element count, use after close).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import {
  createNpyWriter,
  encodeNpy,
  encodeSafetensors,
  loadWeights,
  readNpy,
  readSafetensors,
  saveNpy,
  saveSafetensors,
  WeightsErrorCodes,
} from '../lib/io';
import { ErrorCodes } from '../lib/errors';
import { Tensor } from '../lib/tensor';
import { seededFloats } from './reference';
import { bits, expectWeightsError, makeTempDir } from './weights-helpers';

const dir = makeTempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const conv = {
  'conv.weight': new Tensor(seededFloats(8 * 3, 1), [8, 3, 1, 1]),
  'conv.bias': new Tensor(seededFloats(8, 2), [8]),
  'bn.running_var': { data: Float32Array.of(NaN, -0, Infinity, -Infinity, 1e-45), shape: [5] },
  'scalar': new Tensor(Float32Array.of(0.25), []),
  'empty': new Tensor(new Float32Array(0), [0, 4]),
  'ünïcode 名前': new Tensor(seededFloats(3, 3), [3]),
};

function expectSameTensors(store: ReturnType<typeof loadWeights>, tensors: Record<string, { data: Float32Array; shape: readonly number[] }>): void {
  expect(store.names).toEqual(Object.keys(tensors));
  for (const [name, tensor] of Object.entries(tensors)) {
    const loaded = store.tensor(name, tensor.shape);
    expect(loaded.shape).toEqual([...tensor.shape]);
    expect(bits(loaded.data)).toEqual(bits(tensor.data));
    expect(store.info(name)).toEqual({ dtype: 'F32', shape: [...tensor.shape] });
  }
}

describe('safetensors writer', () => {
  it('round-trips tensors and metadata through bytes', () => {
    const metadata = { format: 'pt', note: 'ünïcode "quoted" \n line', __proto__key: 'x' };
    const bytes = encodeSafetensors(conv, metadata);
    const store = readSafetensors(bytes);
    expect(store.format).toBe('safetensors');
    expect(store.source).toBe('<bytes>');
    expectSameTensors(store, conv);
    expect({ ...store.metadata }).toEqual(metadata);
    expect(Object.isFrozen(store.metadata)).toBe(true);
  });

  it('pads the header with spaces to a multiple of 8 so that data starts aligned', () => {
    for (const name of ['a', 'ab', 'abc', 'abcd', 'abcde', 'abcdef', 'abcdefg', 'abcdefgh']) {
      const bytes = encodeSafetensors({ [name]: new Tensor(Float32Array.of(1, 2), [2]) });
      const length = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      expect(length % 8).toBe(0);
      expect(bytes[8 + length - 1] === 0x20 || bytes[8 + length - 1] === 0x7d).toBe(true);
      expect(bytes.byteOffset).toBe(0);
      // Aligned data is not copied on read.
      expect(readSafetensors(bytes).tensor(name).data.buffer).toBe(bytes.buffer);
    }
  });

  it('writes an empty file that reads back empty', () => {
    const store = readSafetensors(encodeSafetensors({}));
    expect(store.names).toEqual([]);
    expect({ ...store.metadata }).toEqual({});
  });

  it('saves atomically to a path and leaves no temporary file behind', () => {
    const file = path.join(dir, 'model.safetensors');
    fs.writeFileSync(file, 'old content');
    saveSafetensors(file, conv, { version: '2' });
    expect(fs.readdirSync(dir).filter((name) => name.includes('model.safetensors'))).toEqual(['model.safetensors']);
    const store = loadWeights(file);
    expect(store.source).toBe(file);
    expectSameTensors(store, conv);
    expect(store.metadata.version).toBe('2');
  });

  it('fails to save into a missing directory with ERR_WEIGHTS_WRITE', () => {
    expectWeightsError(() => saveSafetensors(path.join(dir, 'missing', 'x.safetensors'), conv), WeightsErrorCodes.WRITE);
  });

  it('rejects bad arguments with TypeError/RangeError and codes', () => {
    expect(() => encodeSafetensors(null as never)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARG_TYPE }));
    expect(() => encodeSafetensors({ a: { data: [1, 2], shape: [2] } as never }))
      .toThrow(expect.objectContaining({ name: 'TypeError', code: ErrorCodes.INVALID_ARG_TYPE }));
    expect(() => encodeSafetensors({ __metadata__: new Tensor(Float32Array.of(1), [1]) }))
      .toThrow(expect.objectContaining({ name: 'RangeError', code: ErrorCodes.INVALID_ARG_VALUE }));
    expect(() => encodeSafetensors({ ['bad\ud800']: new Tensor(Float32Array.of(1), [1]) }))
      .toThrow(expect.objectContaining({ name: 'RangeError', code: ErrorCodes.INVALID_ARG_VALUE }));
    expect(() => encodeSafetensors({}, { n: 1 as never }))
      .toThrow(expect.objectContaining({ name: 'TypeError', code: ErrorCodes.INVALID_ARG_TYPE }));
    expect(() => saveSafetensors(42 as never, {})).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARG_TYPE }));
  });
});

describe('.npy writer', () => {
  const cases = [
    new Tensor(seededFloats(2 * 3 * 4, 9), [2, 3, 4]),
    new Tensor(seededFloats(7, 10), [7]),
    new Tensor(Float32Array.of(-1.5), []),
    new Tensor(new Float32Array(0), [0]),
    new Tensor(seededFloats(6, 11), [1, 1, 1, 1, 2, 3]),
  ];

  it.each(cases.map((tensor) => [tensor.shape.join('x') || 'scalar', tensor] as const))('round-trips %s', (_, tensor) => {
    const bytes = encodeNpy(tensor);
    const headerLength = new DataView(bytes.buffer).getUint16(8, true);
    expect((10 + headerLength) % 64).toBe(0);
    expect(bytes[9 + headerLength]).toBe(0x0a);
    const back = readNpy(bytes);
    expect(back.shape).toEqual(tensor.shape);
    expect(bits(back.data)).toEqual(bits(tensor.data));
    expect(back.data.buffer).toBe(bytes.buffer);  // 64-aligned data: no copy
  });

  it('saves atomically; loadWeights names the tensor after the file', () => {
    const file = path.join(dir, 'conv.weight.npy');
    saveNpy(file, cases[0]);
    const store = loadWeights(file);
    expect(store.names).toEqual(['conv.weight']);
    expect(bits(store.tensor('conv.weight', [2, 3, 4]).data)).toEqual(bits(cases[0].data));
  });

  it('rejects a shape whose header would exceed the reader cap', () => {
    const shape = new Array<number>(4000).fill(1);
    expect(() => encodeNpy(Tensor.zeros(shape))).toThrow(expect.objectContaining({ name: 'RangeError', code: ErrorCodes.TOO_LARGE }));
  });
});

describe('streaming .npy writer', () => {
  it('writes rows as they come and renames the file into place on close', () => {
    const file = path.join(dir, 'stream.npy');
    const all = seededFloats(5 * 4, 12);
    const writer = createNpyWriter(file, [5, 4]);
    expect(fs.existsSync(`${file}.partial`)).toBe(true);
    expect(fs.existsSync(file)).toBe(false);
    writer.append(all.subarray(0, 8));
    writer.append(all.subarray(8, 12));
    writer.append(all.subarray(12, 20));
    expect(writer.written).toBe(20);
    writer.close();
    writer.close();  // idempotent
    expect(fs.existsSync(`${file}.partial`)).toBe(false);
    const tensor = readNpy(fs.readFileSync(file));
    expect(tensor.shape).toEqual([5, 4]);
    expect(bits(tensor.data)).toEqual(bits(all));
    expect(fs.readFileSync(file)).toEqual(Buffer.from(encodeNpy(new Tensor(all, [5, 4]))));
  });

  it('abort removes the partial file and leaves an existing file alone', () => {
    const file = path.join(dir, 'aborted.npy');
    fs.writeFileSync(file, 'previous');
    const writer = createNpyWriter(file, [2, 2]);
    writer.append(Float32Array.of(1, 2));
    writer.abort();
    writer.abort();
    expect(fs.existsSync(`${file}.partial`)).toBe(false);
    expect(fs.readFileSync(file, 'utf8')).toBe('previous');
    expectWeightsError(() => writer.append(Float32Array.of(3, 4)), WeightsErrorCodes.WRITE);
    expectWeightsError(() => writer.close(), WeightsErrorCodes.WRITE);
  });

  it('close with too few elements throws ERR_WEIGHTS_SIZE and removes the partial file', () => {
    const file = path.join(dir, 'short.npy');
    const writer = createNpyWriter(file, [3, 2]);
    writer.append(Float32Array.of(1, 2, 3, 4));
    expectWeightsError(() => writer.close(), WeightsErrorCodes.SIZE);
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.existsSync(`${file}.partial`)).toBe(false);
  });

  it('appending more elements than the shape holds throws ERR_WEIGHTS_SIZE and writes nothing', () => {
    const file = path.join(dir, 'long.npy');
    const writer = createNpyWriter(file, [2, 2]);
    writer.append(Float32Array.of(1, 2, 3));
    expectWeightsError(() => writer.append(Float32Array.of(4, 5)), WeightsErrorCodes.SIZE);
    writer.append(Float32Array.of(4));
    writer.close();
    expect(Array.from(readNpy(fs.readFileSync(file)).data)).toEqual([1, 2, 3, 4]);
  });

  it('handles empty and scalar shapes', () => {
    const empty = path.join(dir, 'empty.npy');
    const writer = createNpyWriter(empty, [0, 3]);
    writer.append(new Float32Array(0));
    writer.close();
    expect(readNpy(fs.readFileSync(empty)).shape).toEqual([0, 3]);
    const scalar = path.join(dir, 'scalar.npy');
    const one = createNpyWriter(scalar, []);
    one.append(Float32Array.of(7));
    one.close();
    expect(Array.from(readNpy(fs.readFileSync(scalar)).data)).toEqual([7]);
  });

  it('rejects bad arguments and unwritable paths', () => {
    expect(() => createNpyWriter(path.join(dir, 'x.npy'), [-1])).toThrow(expect.objectContaining({ name: 'RangeError' }));
    expect(() => createNpyWriter(path.join(dir, 'x.npy'), 'nope' as never)).toThrow(expect.objectContaining({ name: 'TypeError' }));
    expectWeightsError(() => createNpyWriter(path.join(dir, 'missing', 'x.npy'), [1]), WeightsErrorCodes.WRITE);
    const writer = createNpyWriter(path.join(dir, 'typed.npy'), [2]);
    expect(() => writer.append([1, 2] as never)).toThrow(expect.objectContaining({ name: 'TypeError', code: ErrorCodes.INVALID_ARG_TYPE }));
    writer.abort();
  });
});
