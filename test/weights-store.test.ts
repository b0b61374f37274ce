// The WeightStore contract: lookups, expected shapes, lazy cached conversion, zero-copy for aligned
// float32 and copies otherwise, prototype-safe names, and loadWeights' content-based format detection.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import {
  encodeNpy,
  encodeSafetensors,
  loadWeights,
  readNpz,
  readSafetensors,
  WeightsError,
  WeightsErrorCodes,
} from '../lib/io';
import { ErrorCodes } from '../lib/errors';
import { Tensor } from '../lib/tensor';
import {
  bits,
  concat,
  expectWeightsError,
  f32Bytes,
  makeTempDir,
  safetensorsBytes,
  tensorEntry,
  zipBytes,
} from './weights-helpers';

const dir = makeTempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const names = ['encoder.conv1.weight', 'encoder.conv1.bias', 'encoder.conv2.weight', 'encoder.conv2.bias',
  'decoder.proj.weight', 'decoder.proj.bias', 'head.weight'];
const model = Object.fromEntries(names.map((name, index) => [name, new Tensor(Float32Array.of(index, index + 0.5), [2])]));

describe('WeightStore', () => {
  const store = readSafetensors(encodeSafetensors(model));

  it('lists names in file order and answers has/info', () => {
    expect(store.names).toEqual(names);
    expect(Object.isFrozen(store.names)).toBe(true);
    expect(store.has('head.weight')).toBe(true);
    expect(store.has('head.bias')).toBe(false);
    expect(store.has(42 as never)).toBe(false);
    const info = store.info('head.weight');
    info.shape.push(99);  // a copy: the store is not changed
    expect(store.info('head.weight')).toEqual({ dtype: 'F32', shape: [2] });
  });

  it('converts once and returns the cached tensor after', () => {
    expect(store.tensor('head.weight')).toBe(store.tensor('head.weight'));
  });

  it('throws ERR_WEIGHTS_MISSING listing up to 5 closest names', () => {
    const error = expectWeightsError(() => store.tensor('encoder.conv1.weigth'), WeightsErrorCodes.MISSING);
    expect(error.tensor).toBe('encoder.conv1.weigth');
    expect(error.file).toBeUndefined();
    expect(error.message).toContain('"encoder.conv1.weight"');
    expect(error.message.match(/"encoder|"decoder|"head/g)?.length).toBeLessThanOrEqual(5 + 1);
    expect(error.message.indexOf('"encoder.conv1.weight"')).toBeLessThan(error.message.indexOf('"encoder.conv2.weight"'));
    expectWeightsError(() => store.info('nope'), WeightsErrorCodes.MISSING);
    expectWeightsError(() => readSafetensors(encodeSafetensors({})).tensor('x'), WeightsErrorCodes.MISSING);
  });

  it('throws ERR_WEIGHTS_SHAPE when the expected shape differs', () => {
    expect(store.tensor('head.weight', [2]).shape).toEqual([2]);
    const error = expectWeightsError(() => store.tensor('head.weight', [2, 1]), WeightsErrorCodes.SHAPE);
    expect(error.tensor).toBe('head.weight');
    expectWeightsError(() => store.tensor('head.weight', []), WeightsErrorCodes.SHAPE);
    expectWeightsError(() => store.tensor('head.weight', [1]), WeightsErrorCodes.SHAPE);
  });

  it('rejects bad arguments with TypeError/RangeError', () => {
    expect(() => store.tensor(1 as never)).toThrow(expect.objectContaining({ name: 'TypeError', code: ErrorCodes.INVALID_ARG_TYPE }));
    expect(() => store.tensor('head.weight', 2 as never)).toThrow(expect.objectContaining({ name: 'TypeError' }));
    expect(() => store.tensor('head.weight', [-2])).toThrow(expect.objectContaining({ name: 'RangeError', code: ErrorCodes.OUT_OF_RANGE }));
    expect(() => readSafetensors('bytes' as never)).toThrow(expect.objectContaining({ name: 'TypeError' }));
    expect(() => readSafetensors(new Uint8Array(8), 5 as never)).toThrow(expect.objectContaining({ name: 'TypeError' }));
    expect(() => loadWeights(new ArrayBuffer(8) as never)).toThrow(expect.objectContaining({ name: 'TypeError' }));
  });

  it('names the file in errors read from a path', () => {
    const file = path.join(dir, 'bad.safetensors');
    fs.writeFileSync(file, safetensorsBytes('{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', new Uint8Array(8)));
    const error = expectWeightsError(() => loadWeights(file), WeightsErrorCodes.DTYPE);
    expect(error.file).toBe(file);
    expect(error.tensor).toBe('a');
    expect(error.message.startsWith(`${file}: tensor "a": `)).toBe(true);
  });
});

describe('zero-copy and copies', () => {
  const values = [1.5, -2, 3.25, 4];

  it('returns a view over the input for aligned F32 data', () => {
    const header = `{${tensorEntry('w', 'F32', [4], 0, 16)}}`;
    const bytes = safetensorsBytes(header.padEnd(Math.ceil(header.length / 8) * 8, ' '), f32Bytes(values));
    const tensor = readSafetensors(bytes).tensor('w');
    expect(tensor.data.buffer).toBe(bytes.buffer);
    expect(tensor.data.byteOffset % 4).toBe(0);
    expect(Array.from(tensor.data)).toEqual(values);
  });

  it('copies unaligned F32 data (header length not a multiple of 4)', () => {
    const json = `{${tensorEntry('w', 'F32', [4], 0, 16)}}`;
    const header = json.padEnd(Math.ceil(json.length / 8) * 8 + 1, ' ');
    const bytes = safetensorsBytes(header, f32Bytes(values));
    expect((8 + header.length) % 4).not.toBe(0);
    const tensor = readSafetensors(bytes).tensor('w');
    expect(tensor.data.buffer).not.toBe(bytes.buffer);
    expect(Array.from(tensor.data)).toEqual(values);
  });

  it('copies when the bytes themselves sit at an unaligned offset of their buffer', () => {
    const file = encodeSafetensors({ w: new Tensor(Float32Array.from(values), [4]) });
    const backing = new Uint8Array(file.length + 1);
    backing.set(file, 1);
    const shifted = backing.subarray(1);
    const tensor = readSafetensors(shifted).tensor('w');
    expect(tensor.data.buffer).not.toBe(backing.buffer);
    expect(Array.from(tensor.data)).toEqual(values);
  });

  it('copies (snapshots) SharedArrayBuffer-backed input', () => {
    const file = encodeSafetensors({ w: new Tensor(Float32Array.from(values), [4]) });
    const shared = new Uint8Array(new SharedArrayBuffer(file.length));
    shared.set(file);
    const tensor = readSafetensors(shared).tensor('w');
    expect(tensor.data.buffer).not.toBe(shared.buffer);
    shared.fill(0);
    expect(Array.from(tensor.data)).toEqual(values);
  });

  it('converts F16, BF16 and F64 to float32', () => {
    const f16 = Uint8Array.of(0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c);  // 1, -2, 2^-24, +inf
    const bf16 = Uint8Array.of(0xc0, 0x3f, 0x80, 0xbf);  // 1.5, -1
    const f64 = new Uint8Array(Float64Array.of(0.1, -3).buffer);
    const header = `{${tensorEntry('h', 'F16', [4], 0, 8)},${tensorEntry('b', 'BF16', [2], 8, 12)},${tensorEntry('d', 'F64', [2], 12, 28)}}`;
    const store = readSafetensors(safetensorsBytes(header, concat(f16, bf16, f64)));
    expect(Array.from(store.tensor('h').data)).toEqual([1, -2, 2 ** -24, Infinity]);
    expect(Array.from(store.tensor('b').data)).toEqual([1.5, -1]);
    expect(Array.from(store.tensor('d').data)).toEqual([Math.fround(0.1), -3]);
    expect(store.info('h').dtype).toBe('F16');
  });

  it('converts lazily: a tensor that is never read is never converted', () => {
    const bytes = encodeSafetensors(model);
    const store = readSafetensors(bytes);
    new Uint8Array(bytes.buffer).fill(0, bytes.length - 8);  // the last tensor's data, after the read
    expect(Array.from(store.tensor('head.weight').data)).toEqual([0, 0]);
  });
});

describe('names that are not plain identifiers', () => {
  it('keeps "__proto__" and "constructor" as ordinary names and metadata keys', () => {
    const header =
      `{"__metadata__":{"__proto__":"polluted","constructor":"x"},` +
      `${tensorEntry('__proto__', 'F32', [1], 0, 4)},${tensorEntry('constructor', 'F32', [1], 4, 8)}}`;
    const store = readSafetensors(safetensorsBytes(header, f32Bytes([1, 2])));
    expect(store.names).toEqual(['__proto__', 'constructor']);
    expect(Array.from(store.tensor('__proto__').data)).toEqual([1]);
    expect(store.metadata.__proto__).toBe('polluted');
    expect(Object.getPrototypeOf(store.metadata)).toBeNull();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(store.has('toString')).toBe(false);
    expectWeightsError(() => store.tensor('hasOwnProperty'), WeightsErrorCodes.MISSING);
  });

  it('round-trips "__proto__" through the writer', () => {
    const tensors = Object.create(null) as Record<string, Tensor>;
    Object.defineProperty(tensors, '__proto__', { value: new Tensor(Float32Array.of(3), [1]), enumerable: true });
    const store = readSafetensors(encodeSafetensors(tensors));
    expect(store.names).toEqual(['__proto__']);
    expect(Array.from(store.tensor('__proto__').data)).toEqual([3]);
  });

  it('decodes zip names without the UTF-8 flag as code page 437', () => {
    const npy = encodeNpy(new Tensor(Float32Array.of(1), [1]));
    const zip = zipBytes([{ name: 'x.npy', data: npy }]);
    // Rewrite the name bytes in both headers to 0x82 ('é' in CP437), with no UTF-8 flag.
    const bytes = Buffer.from(zip);
    let at = -1;
    while ((at = bytes.indexOf('x.npy', at + 1)) >= 0) bytes[at] = 0x82;
    expect(readNpz(bytes).names).toEqual(['é']);
  });
});

describe('loadWeights', () => {
  const tensor = new Tensor(Float32Array.of(1, 2, 3), [3]);

  it('recognises each format by content, whatever the file is called', () => {
    const files: [string, Uint8Array, string][] = [
      ['weights.bin', encodeSafetensors({ t: tensor }), 'safetensors'],
      ['weights.safetensors', encodeNpy(tensor), 'npy'],
      ['weights.npy', zipBytes([{ name: 't.npy', data: encodeNpy(tensor), method: 8 }]), 'npz'],
    ];
    for (const [name, bytes, format] of files) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, bytes);
      const store = loadWeights(file);
      expect(store.format).toBe(format);
      const tensorName = format === 'npy' ? 'weights' : 't';
      expect(bits(store.tensor(tensorName, [3]).data)).toEqual(bits(tensor.data));
      expect(loadWeights(bytes).format).toBe(format);
    }
    expect(loadWeights(encodeNpy(tensor)).names).toEqual(['array']);
    expect(loadWeights(zipBytes([])).names).toEqual([]);
  });

  it('reports unreadable paths as ERR_WEIGHTS_READ with the OS error as cause', () => {
    const missing = expectWeightsError(() => loadWeights(path.join(dir, 'missing.safetensors')), WeightsErrorCodes.READ);
    expect((missing.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(missing.file).toBe(path.join(dir, 'missing.safetensors'));
    expectWeightsError(() => loadWeights(dir), WeightsErrorCodes.READ);
    expectWeightsError(() => loadWeights('/dev/zero'), WeightsErrorCodes.READ);
  });

  it('refuses other formats with ERR_WEIGHTS_FORMAT (and says what they look like)', () => {
    const pickle = expectWeightsError(() => loadWeights(Uint8Array.of(0x80, 0x02, 0x7d, 0x71, 0, 0, 0, 0, 0, 0)), WeightsErrorCodes.FORMAT);
    expect(pickle.message).toContain('pickle');
    expectWeightsError(() => loadWeights(Buffer.from('hello, this is not a weight file')), WeightsErrorCodes.FORMAT);
    expectWeightsError(() => loadWeights(Buffer.from('\x89HDF\r\n\x1a\n\0\0\0\0', 'latin1')), WeightsErrorCodes.FORMAT);
    const torch = zipBytes([{ name: 'archive/data.pkl', data: Uint8Array.of(0x80, 2) }]);
    expectWeightsError(() => loadWeights(torch), WeightsErrorCodes.FORMAT);
  });

  it('is never fooled into another error class', () => {
    for (const bytes of [new Uint8Array(0), Uint8Array.of(0x93), Uint8Array.of(0x50, 0x4b), new Uint8Array(8)]) {
      expect(() => loadWeights(bytes)).toThrow(WeightsError);
    }
  });
});
