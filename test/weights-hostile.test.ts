// Hostile weight files, one failure mode each, asserted by class (WeightsError) and code, never by
// message text. The battery's size is printed so that it can be reported.
import * as zlib from 'node:zlib';
import { afterAll, describe, it } from 'vitest';

import {
  encodeNpy,
  encodeSafetensors,
  loadWeights,
  readNpy,
  readNpz,
  readSafetensors,
  SAFETENSORS_HEADER_CAP,
  type WeightsErrorCode,
  WeightsErrorCodes as C,
} from '../lib/io';
import { Tensor } from '../lib/tensor';
import {
  concat,
  expectWeightsError,
  f32Bytes,
  f4Dict,
  npyBytes,
  safetensorsBytes,
  tensorEntry,
  u64le,
  zipBytes,
} from './weights-helpers';

interface HostileCase {
  name: string;
  code: WeightsErrorCode;
  /** Reads the hostile input; every read must throw. */
  read: () => unknown;
}

// --- safetensors -------------------------------------------------------------------------------------
const A = tensorEntry('a', 'F32', [2, 2], 0, 16);
const B = tensorEntry('b', 'F32', [4], 16, 32);
const DATA = f32Bytes([1, 2, 3, 4, 5, 6, 7, 8]);
const VALID_HEADER = `{${A},${B}}`;
const valid = safetensorsBytes(VALID_HEADER, DATA);
const headerOnly = (header: string, data: Uint8Array = DATA) => () => readSafetensors(safetensorsBytes(header, data));
const one = (dtype: string, shape: readonly (number | string)[], begin: number | string, end: number | string, data = DATA.subarray(0, 16)) =>
  headerOnly(`{${tensorEntry('t', dtype, shape, begin, end)}}`, data);

const safetensorsCases: HostileCase[] = [
  { name: 'empty file', code: C.TRUNCATED, read: () => readSafetensors(new Uint8Array(0)) },
  { name: 'truncated inside the length field', code: C.TRUNCATED, read: () => readSafetensors(valid.subarray(0, 5)) },
  { name: 'truncated inside the header', code: C.TRUNCATED, read: () => readSafetensors(valid.subarray(0, 8 + 20)) },
  { name: 'truncated inside the data', code: C.TRUNCATED, read: () => readSafetensors(valid.subarray(0, valid.length - 3)) },
  { name: 'truncated right after the header', code: C.TRUNCATED, read: () => readSafetensors(valid.subarray(0, 8 + VALID_HEADER.length)) },
  {
    name: 'header length larger than the file',
    code: C.TRUNCATED,
    read: () => readSafetensors(safetensorsBytes(VALID_HEADER, DATA, BigInt(VALID_HEADER.length + DATA.length + 1))),
  },
  {
    name: 'header length above the 16 MiB cap (file large enough)',
    code: C.LIMIT,
    read: () => {
      const bytes = new Uint8Array(8 + SAFETENSORS_HEADER_CAP + 8).fill(0x20);
      bytes.set(u64le(BigInt(SAFETENSORS_HEADER_CAP + 8)), 0);
      bytes[8] = 0x7b;
      return readSafetensors(bytes);
    },
  },
  { name: 'header length 2^60', code: C.TRUNCATED, read: () => readSafetensors(safetensorsBytes(VALID_HEADER, DATA, 2n ** 60n)) },
  { name: 'header length 2^64-1', code: C.TRUNCATED, read: () => readSafetensors(safetensorsBytes(VALID_HEADER, DATA, 2n ** 64n - 1n)) },
  {
    name: 'header not UTF-8 (0xFF in a name)',
    code: C.HEADER,
    read: () => readSafetensors(safetensorsBytes(concat('{"', Uint8Array.of(0xff), `":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`))),
  },
  {
    name: 'header with a UTF-8-encoded surrogate (CESU)',
    code: C.HEADER,
    read: () => readSafetensors(safetensorsBytes(concat('{"', Uint8Array.of(0xed, 0xa0, 0x80), `":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`))),
  },
  { name: 'header not JSON', code: C.HEADER, read: headerOnly(`{${A},${B}`) },
  { name: 'header with a trailing comma', code: C.HEADER, read: headerOnly(`{${A},${B},}`) },
  { name: 'header a JSON array', code: C.HEADER, read: headerOnly(`[${JSON.stringify(VALID_HEADER)}]`, new Uint8Array(0)) },
  { name: 'header a JSON string', code: C.HEADER, read: headerOnly('"tensors"', new Uint8Array(0)) },
  { name: 'header with a byte-order mark', code: C.HEADER, read: headerOnly(`\ufeff${VALID_HEADER}`) },
  { name: 'header with an escaped lone surrogate', code: C.HEADER, read: headerOnly(`{"\\ud800":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`, new Uint8Array(0)) },
  { name: 'header nested 100,000 deep (no stack overflow)', code: C.HEADER, read: headerOnly(`{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, new Uint8Array(0)) },
  { name: 'duplicate tensor names', code: C.DUPLICATE, read: headerOnly(`{${A},${tensorEntry('a', 'F32', [4], 16, 32)}}`) },
  { name: 'duplicate __metadata__', code: C.DUPLICATE, read: headerOnly(`{"__metadata__":{},"__metadata__":{},${A},${B}}`) },
  { name: 'duplicate field inside an entry', code: C.HEADER, read: headerOnly(`{"t":{"dtype":"F32","dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, DATA.subarray(0, 16)) },
  { name: 'overlapping offsets', code: C.OFFSETS, read: headerOnly(`{${A},${tensorEntry('b', 'F32', [4], 8, 24)}}`, DATA.subarray(0, 24)) },
  { name: 'two tensors at the same offsets', code: C.OFFSETS, read: headerOnly(`{${A},${tensorEntry('b', 'F32', [4], 0, 16)}}`, DATA.subarray(0, 16)) },
  { name: 'offsets out of range (past the data)', code: C.OFFSETS, read: headerOnly(`{${A},${tensorEntry('b', 'F32', [4], 64, 80)}}`) },
  { name: 'offsets beyond 2^64', code: C.OFFSETS, read: one('F32', [4], '36893488147419103232', '36893488147419103248') },
  { name: 'hole between tensors', code: C.OFFSETS, read: headerOnly(`{${tensorEntry('a', 'F32', [2], 0, 8)},${B}}`) },
  { name: 'first tensor not at offset 0', code: C.OFFSETS, read: one('F32', [2], 8, 16) },
  { name: 'trailing bytes after the last tensor', code: C.OFFSETS, read: headerOnly(VALID_HEADER, concat(DATA, Uint8Array.of(0))) },
  { name: 'end before begin', code: C.OFFSETS, read: one('F32', [0], 16, 0) },
  { name: 'fractional offset', code: C.HEADER, read: one('F32', [4], 0, '16.0') },
  { name: 'negative offset', code: C.HEADER, read: one('F32', [4], -16, 0) },
  { name: 'three data_offsets', code: C.HEADER, read: headerOnly(`{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16,32]}}`) },
  { name: 'unknown dtype', code: C.DTYPE, read: one('F128', [4], 0, 16) },
  { name: 'known but unsupported dtype (I64)', code: C.DTYPE, read: one('I64', [2], 0, 16) },
  { name: 'known but unsupported dtype (F8_E4M3)', code: C.DTYPE, read: one('F8_E4M3', [16], 0, 16) },
  { name: 'dtype not a string', code: C.HEADER, read: headerOnly(`{"t":{"dtype":4,"shape":[4],"data_offsets":[0,16]}}`, DATA.subarray(0, 16)) },
  { name: 'shape × itemsize ≠ bytes', code: C.SIZE, read: one('F32', [3], 0, 16) },
  { name: 'F16 shape × 2 ≠ bytes', code: C.SIZE, read: one('F16', [4], 0, 16) },
  { name: 'negative dimension', code: C.HEADER, read: one('F32', [-4], 0, 16) },
  { name: 'non-integer dimension', code: C.HEADER, read: one('F32', [1.5], 0, 16) },
  { name: 'exponent dimension 4e0', code: C.HEADER, read: one('F32', ['4e0'], 0, 16) },
  { name: 'string dimension', code: C.HEADER, read: one('F32', ['"4"'], 0, 16) },
  { name: 'null dimension', code: C.HEADER, read: one('F32', ['null'], 0, 16) },
  { name: 'dimensions whose product overflows', code: C.SIZE, read: one('F32', [2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1], 0, 16) },
  { name: 'a zero-size tensor with a 2^40 dimension', code: C.SIZE, read: one('F32', [0, 2 ** 40], 0, 0, new Uint8Array(0)) },
  { name: 'a 2^70 dimension', code: C.SIZE, read: one('F32', ['1180591620717411303424'], 0, 16) },
  { name: 'metadata with a non-string value', code: C.HEADER, read: headerOnly(`{"__metadata__":{"epochs":3},${A},${B}}`) },
  { name: 'metadata not an object', code: C.HEADER, read: headerOnly(`{"__metadata__":"x",${A},${B}}`) },
  { name: 'unknown field in an entry', code: C.HEADER, read: headerOnly(`{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"strides":[1]}}`, DATA.subarray(0, 16)) },
  { name: 'missing data_offsets', code: C.HEADER, read: headerOnly(`{"t":{"dtype":"F32","shape":[4]}}`, new Uint8Array(0)) },
  { name: 'entry not an object', code: C.HEADER, read: headerOnly(`{"t":[0,16]}`, new Uint8Array(0)) },
];

// --- .npy ------------------------------------------------------------------------------------------------
const NPY_DATA = f32Bytes([1, 2, 3, 4, 5, 6]);
const validNpy = npyBytes(f4Dict('(2, 3)'), NPY_DATA);
const npy = (dict: string, data: Uint8Array = NPY_DATA, options?: Parameters<typeof npyBytes>[2]) => () =>
  readNpy(npyBytes(dict, data, options));

const npyCases: HostileCase[] = [
  { name: 'bad magic', code: C.HEADER, read: () => readNpy(concat(Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x5a), validNpy.subarray(6))) },
  { name: 'truncated inside the magic', code: C.TRUNCATED, read: () => readNpy(validNpy.subarray(0, 4)) },
  { name: 'version 4.0', code: C.HEADER, read: npy(f4Dict('(2, 3)'), NPY_DATA, { major: 4 }) },
  { name: 'version 1.1', code: C.HEADER, read: npy(f4Dict('(2, 3)'), NPY_DATA, { minor: 1 }) },
  { name: 'version 0.0', code: C.HEADER, read: npy(f4Dict('(2, 3)'), NPY_DATA, { major: 0 }) },
  { name: 'truncated inside the header length', code: C.TRUNCATED, read: () => readNpy(validNpy.subarray(0, 9)) },
  { name: 'header longer than the file', code: C.TRUNCATED, read: () => readNpy(validNpy.subarray(0, 40)) },
  { name: 'header above the 10,000-byte cap (v2)', code: C.LIMIT, read: npy(f4Dict('(2, 3)') + ' '.repeat(20_000), NPY_DATA, { major: 2 }) },
  { name: 'header without a newline', code: C.HEADER, read: npy(f4Dict('(2, 3)'), NPY_DATA, { newline: false }) },
  { name: 'header missing "shape"', code: C.HEADER, read: npy(`{'descr': '<f4', 'fortran_order': False, }`) },
  { name: 'header with an extra key', code: C.HEADER, read: npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1, }`) },
  { name: 'header with a duplicate key', code: C.HEADER, read: npy(`{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`) },
  { name: 'header not a dict', code: C.HEADER, read: npy(`['descr', '<f4']`) },
  { name: 'header with code in it (never evaluated)', code: C.HEADER, read: npy(`{'descr': __import__('os').system('false'), 'fortran_order': False, 'shape': (2, 3), }`) },
  { name: 'header with content after the dict', code: C.HEADER, read: npy(`${f4Dict('(2, 3)')} + 1`) },
  { name: 'string with a backslash escape', code: C.HEADER, read: npy(f4Dict('(2, 3)', '<f\\x34')) },
  { name: 'v3 header not UTF-8', code: C.HEADER, read: npy('', NPY_DATA, { major: 3, headerBytes: concat("{'descr': '<f4', '", Uint8Array.of(0xff), "': 1}\n") }) },
  { name: 'descr <i8', code: C.DTYPE, read: npy(f4Dict('(3,)', '<i8'), new Uint8Array(24)) },
  { name: 'descr <c8 (complex)', code: C.DTYPE, read: npy(f4Dict('(3,)', '<c8'), new Uint8Array(24)) },
  { name: 'descr |O (object array: a pickle)', code: C.DTYPE, read: npy(f4Dict('(2,)', '|O'), Uint8Array.of(0x80, 0x04, 0x95, 0, 0, 0, 0, 0, 0, 0x2e)) },
  { name: 'structured descr (a list)', code: C.DTYPE, read: npy(`{'descr': [('x', '<f4'), ('y', '<f4')], 'fortran_order': False, 'shape': (3,), }`, new Uint8Array(24)) },
  { name: 'fortran_order not a bool', code: C.HEADER, read: npy(f4Dict('(2, 3)', '<f4', '0')) },
  { name: 'shape a parenthesised int, not a tuple', code: C.HEADER, read: npy(f4Dict('(6)')) },
  { name: 'shape with a negative dimension', code: C.HEADER, read: npy(f4Dict('(-2, 3)')) },
  { name: 'shape with a Python 2 long (6L)', code: C.HEADER, read: npy(f4Dict('(6L,)')) },
  { name: 'shape whose product overflows', code: C.SIZE, read: npy(f4Dict('(2147483647, 2147483647, 2147483647)')) },
  { name: 'shape with a 2^40 dimension', code: C.SIZE, read: npy(f4Dict('(0, 1099511627776)'), new Uint8Array(0)) },
  { name: 'data truncated', code: C.TRUNCATED, read: () => readNpy(validNpy.subarray(0, validNpy.length - 1)) },
  { name: 'extra data after the array', code: C.SIZE, read: () => readNpy(concat(validNpy, Uint8Array.of(0, 0, 0, 0))) },
];

// --- .npz ------------------------------------------------------------------------------------------------
const member = encodeNpy(new Tensor(Float32Array.of(1, 2, 3, 4), [2, 2]));
const validNpz = zipBytes([{ name: 'a.npy', data: member, method: 8 }, { name: 'b.npy', data: member }]);
const npz = (...args: Parameters<typeof zipBytes>) => () => readNpz(zipBytes(...args));

const npzCases: HostileCase[] = [
  {
    name: 'zip bomb: declares 128 bytes, inflates to 64 MiB',
    code: C.LIMIT,
    read: () => {
      const huge = new Uint8Array(64 * 1024 * 1024);
      return readNpz(zipBytes([{ name: 'bomb.npy', data: huge.subarray(0, 128), method: 8, payload: zlib.deflateRawSync(huge, { level: 1 }) }]));
    },
  },
  {
    name: 'declared sizes above the 4 GiB total cap',
    code: C.LIMIT,
    read: npz([
      { name: 'a.npy', data: member, method: 8, declaredSize: 0xf0000000 },
      { name: 'b.npy', data: member, method: 8, declaredSize: 0xf0000000 },
    ]),
  },
  {
    name: 'more than 4096 members',
    code: C.LIMIT,
    read: npz(Array.from({ length: 4097 }, (_, index) => ({ name: `m${index}.npy`, data: member }))),
  },
  { name: 'bad CRC (stored)', code: C.CHECKSUM, read: npz([{ name: 'a.npy', data: member, crc: 0x12345678 }]) },
  { name: 'bad CRC (deflated)', code: C.CHECKSUM, read: npz([{ name: 'a.npy', data: member, method: 8, crc: 1 }]) },
  {
    name: 'truncated central directory',
    code: C.TRUNCATED,
    read: () => {
      const eocd = validNpz.length - 22;
      const centralSize = new DataView(validNpz.buffer).getUint32(eocd + 12, true);
      return readNpz(concat(validNpz.subarray(0, eocd - Math.floor(centralSize / 2)), validNpz.subarray(eocd)));
    },
  },
  { name: 'archive cut in half (no end record)', code: C.TRUNCATED, read: () => readNpz(validNpz.subarray(0, validNpz.length >> 1)) },
  { name: 'central directory offset past the end record', code: C.TRUNCATED, read: npz([{ name: 'a.npy', data: member }], { centralOffsetField: 100_000 }) },
  { name: 'central directory size lies (too small)', code: C.TRUNCATED, read: npz([{ name: 'a.npy', data: member }, { name: 'b.npy', data: member }], { centralSizeField: 60 }) },
  { name: 'entry count lies (too few)', code: C.HEADER, read: npz([{ name: 'a.npy', data: member }, { name: 'b.npy', data: member }], { entriesField: 1 }) },
  { name: 'zip64 marker in the end record', code: C.FORMAT, read: npz([{ name: 'a.npy', data: member }], { centralOffsetField: 0xffffffff }) },
  { name: 'zip64 member sizes', code: C.FORMAT, read: npz([{ name: 'a.npy', data: member, declaredSize: 0xffffffff }]) },
  { name: 'encrypted member', code: C.FORMAT, read: npz([{ name: 'a.npy', data: member, flags: 1 }]) },
  { name: 'unsupported compression (bzip2)', code: C.FORMAT, read: npz([{ name: 'a.npy', data: member, method: 12 }]) },
  { name: 'corrupt deflate stream', code: C.FORMAT, read: npz([{ name: 'a.npy', data: member, method: 8, payload: Uint8Array.of(0xff, 0xff, 0xff, 0xff) }]) },
  { name: 'deflate stream cut short', code: C.TRUNCATED, read: npz([{ name: 'a.npy', data: member, method: 8, payload: zlib.deflateRawSync(member).subarray(0, 10) }]) },
  { name: 'inflates to less than declared', code: C.SIZE, read: npz([{ name: 'a.npy', data: member, method: 8, declaredSize: member.length + 50 }]) },
  { name: 'stored sizes differ', code: C.SIZE, read: npz([{ name: 'a.npy', data: member, declaredSize: member.length - 4 }]) },
  { name: 'duplicate member names', code: C.DUPLICATE, read: npz([{ name: 'a.npy', data: member }, { name: 'a.npy', data: member }]) },
  { name: 'overlapping members (two entries, one local header)', code: C.OFFSETS, read: npz([{ name: 'a.npy', data: member }, { name: 'a.npy', data: member, localOffset: 0 }]) },
  { name: 'local header elsewhere than declared', code: C.HEADER, read: npz([{ name: 'a.npy', data: member }, { name: 'b.npy', data: member, localOffset: 1 }]) },
  { name: 'local header names another member', code: C.HEADER, read: npz([{ name: 'a.npy', data: member, localName: 'z.npy' }]) },
  { name: 'member not an .npy (PyTorch-style archive)', code: C.FORMAT, read: npz([{ name: 'archive/data.pkl', data: Uint8Array.of(0x80, 2, 0x2e) }]) },
  { name: 'member with an object array', code: C.DTYPE, read: npz([{ name: 'a.npy', data: npyBytes(f4Dict('(1,)', '|O'), Uint8Array.of(0x80, 0x04, 0x2e)) }]) },
  { name: 'member with a truncated .npy', code: C.TRUNCATED, read: npz([{ name: 'a.npy', data: member.subarray(0, member.length - 4) }]) },
  { name: 'not a zip at all', code: C.FORMAT, read: () => readNpz(new Uint8Array(100).fill(7)) },
  { name: 'trailing bytes after the end record', code: C.TRUNCATED, read: () => readNpz(concat(validNpz, Uint8Array.of(0))) },
];

// --- loadWeights ---------------------------------------------------------------------------------------
const loadCases: HostileCase[] = [
  { name: 'empty bytes', code: C.TRUNCATED, read: () => loadWeights(new Uint8Array(0)) },
  { name: 'text', code: C.FORMAT, read: () => loadWeights(Buffer.from('this is not a weight file at all')) },
  { name: 'a pickle', code: C.FORMAT, read: () => loadWeights(Uint8Array.of(0x80, 0x04, 0x95, 0, 0, 0, 0, 0, 0, 0, 0x7d, 0x2e)) },
  { name: 'safetensors truncated inside the header', code: C.TRUNCATED, read: () => loadWeights(encodeSafetensors({ a: new Tensor(Float32Array.of(1), [1]) }).subarray(0, 20)) },
  { name: 'npy truncated inside the preamble', code: C.TRUNCATED, read: () => loadWeights(validNpy.subarray(0, 7)) },
];

const battery: [string, HostileCase[]][] = [
  ['safetensors', safetensorsCases],
  ['.npy', npyCases],
  ['.npz', npzCases],
  ['loadWeights', loadCases],
];

let passed = 0;
for (const [format, cases] of battery) {
  describe(`hostile ${format}`, () => {
    it.each(cases.map((entry) => [entry.name, entry] as const))('%s', (_, entry) => {
      expectWeightsError(entry.read, entry.code);
      passed++;
    });
  });
}

afterAll(() => {
  const total = battery.reduce((sum, [, cases]) => sum + cases.length, 0);
  const byFormat = battery.map(([format, cases]) => `${format} ${cases.length}`).join(', ');
  console.log(`hostile weight files: ${passed}/${total} rejected with the expected WeightsError code (${byFormat})`);
});
