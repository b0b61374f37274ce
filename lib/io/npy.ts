// .npy (numpy/numpy: numpy/lib/_format_impl.py): "\x93NUMPY", major, minor, header length (u16 LE in
// v1, u32 LE in v2/v3), a Python dict literal header ending in "\n", then the array's bytes in C or
// Fortran order. Object arrays are pickles and are never read.
import { ErrorCodes, rangeError } from '../errors';
import { allocateFloats, MAX_DIMENSION, readTensor, Tensor, type TensorLike } from '../tensor';
import { concatChunks, inputBytes, inputString, writeFileAtomic } from './file-io';
import { decodeFloats, float32LittleEndianBytes, type FloatEncoding, ITEM_SIZE } from './float-codec';
import { parsePyDict, PyLiteralError, type PyValue } from './py-literal';
import type { StoreEntry } from './weight-store';
import { BYTES_SOURCE, quoteName, type ReadContext, weightsError, WeightsErrorCodes } from './weights-error';

export const NPY_MAGIC = Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59);  // \x93NUMPY
/** NumPy's own limit for headers it parses (`_MAX_HEADER_SIZE`). */
export const NPY_HEADER_CAP = 10_000;

const SUPPORTED_DESCRS: ReadonlyMap<string, FloatEncoding> = new Map([
  ['<f4', { kind: 'f32', littleEndian: true }],
  ['>f4', { kind: 'f32', littleEndian: false }],
  ['<f2', { kind: 'f16', littleEndian: true }],
  ['>f2', { kind: 'f16', littleEndian: false }],
  ['<f8', { kind: 'f64', littleEndian: true }],
  ['>f8', { kind: 'f64', littleEndian: false }],
] as const);
const SUPPORTED_LIST = [...SUPPORTED_DESCRS.keys()].join(', ');
const HEADER_KEYS = ['descr', 'fortran_order', 'shape'];

/** Reads a .npy file into a float32 tensor in C order (Fortran-order files are transposed). */
export function readNpy(bytes: Uint8Array, source: string = BYTES_SOURCE): Tensor {
  const data = inputBytes(bytes, 'bytes');
  return parseNpy(data, { source: inputString(source, 'source') }).decode();
}

/** Validates a whole .npy file; the conversion to float32 is deferred to `decode`. */
export function parseNpy(bytes: Uint8Array, context: ReadContext): StoreEntry {
  const prefix = Math.min(bytes.length, NPY_MAGIC.length);
  if (!NPY_MAGIC.subarray(0, prefix).every((byte, index) => bytes[index] === byte)) {
    throw weightsError(WeightsErrorCodes.HEADER, context, 'not a .npy file: the magic string \\x93NUMPY is missing');
  }
  if (bytes.length < 8) {
    throw weightsError(WeightsErrorCodes.TRUNCATED, context, `${bytes.length} bytes is too short for a .npy preamble`);
  }
  const major = bytes[6];
  const minor = bytes[7];
  if (major < 1 || major > 3 || minor !== 0) {
    throw weightsError(
      WeightsErrorCodes.HEADER,
      context,
      `.npy format version ${major}.${minor} is not supported (1.0, 2.0 and 3.0 are)`,
    );
  }
  const lengthSize = major === 1 ? 2 : 4;
  const headerStart = 8 + lengthSize;
  if (bytes.length < headerStart) {
    throw weightsError(WeightsErrorCodes.TRUNCATED, context, 'the file ends inside the header length');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerStart);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerStart + headerLength > bytes.length) {
    throw weightsError(
      WeightsErrorCodes.TRUNCATED,
      context,
      `the header length is ${headerLength} bytes but only ${bytes.length - headerStart} follow it`,
    );
  }
  if (headerLength > NPY_HEADER_CAP) {
    throw weightsError(
      WeightsErrorCodes.LIMIT,
      context,
      `the header is ${headerLength} bytes; at most ${NPY_HEADER_CAP} are accepted (as by NumPy)`,
    );
  }
  const header = decodeHeader(bytes.subarray(headerStart, headerStart + headerLength), major, context);
  const { descr, encoding, fortranOrder, shape, count } = interpretHeader(header, context);

  const dataStart = headerStart + headerLength;
  const needed = count * ITEM_SIZE[encoding.kind];
  const present = bytes.length - dataStart;
  if (present < needed) {
    throw weightsError(
      WeightsErrorCodes.TRUNCATED,
      context,
      `shape [${shape.join(', ')}] of ${descr} needs ${needed} bytes of data but the file has ${present}`,
    );
  }
  if (present > needed) {
    throw weightsError(
      WeightsErrorCodes.SIZE,
      context,
      `shape [${shape.join(', ')}] of ${descr} needs ${needed} bytes of data but the file has ${present}`,
    );
  }
  const frozenShape = Object.freeze(shape);
  return {
    dtype: descr,
    shape: frozenShape,
    decode: () => {
      const values = decodeFloats(bytes, dataStart, count, encoding);
      const ordered = fortranOrder && shape.length > 1 ? fortranToC(values, shape) : values;
      return Tensor.fromTrusted(ordered, frozenShape);
    },
  };
}

function decodeHeader(headerBytes: Uint8Array, major: number, context: ReadContext): Map<string, PyValue> {
  let text: string;
  if (major === 3) {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
    } catch (cause) {
      throw weightsError(WeightsErrorCodes.HEADER, context, 'the version 3.0 header is not valid UTF-8', cause);
    }
  } else {
    // Node's 'latin1' is ISO-8859-1 (TextDecoder's 'latin1' would be windows-1252).
    text = Buffer.from(headerBytes.buffer, headerBytes.byteOffset, headerBytes.length).toString('latin1');
  }
  if (!text.endsWith('\n')) {
    throw weightsError(WeightsErrorCodes.HEADER, context, 'the header does not end with a newline');
  }
  try {
    return parsePyDict(text);
  } catch (cause) {
    if (!(cause instanceof PyLiteralError)) throw cause;
    throw weightsError(WeightsErrorCodes.HEADER, context, `the header is not a valid dict literal: ${cause.message}`, cause);
  }
}

interface NpyHeader {
  descr: string;
  encoding: FloatEncoding;
  fortranOrder: boolean;
  shape: number[];
  count: number;
}

function interpretHeader(header: Map<string, PyValue>, context: ReadContext): NpyHeader {
  const keys = [...header.keys()].sort();
  if (keys.length !== HEADER_KEYS.length || !keys.every((key, index) => key === HEADER_KEYS[index])) {
    throw weightsError(
      WeightsErrorCodes.HEADER,
      context,
      `the header must have exactly the keys ${HEADER_KEYS.join(', ')} but has ${keys.map(quoteName).join(', ') || 'none'}`,
    );
  }
  const descrValue = header.get('descr')!;
  const orderValue = header.get('fortran_order')!;
  const shapeValue = header.get('shape')!;

  if (descrValue.kind !== 'str') {
    throw weightsError(
      WeightsErrorCodes.DTYPE,
      context,
      `structured dtypes are not supported (descr is ${pyKind(descrValue)}); supported: ${SUPPORTED_LIST}`,
    );
  }
  const descr = descrValue.value;
  const encoding = SUPPORTED_DESCRS.get(descr);
  if (encoding === undefined) {
    const why = descr.includes('O') ? ' (object arrays are pickles and are never loaded)' : '';
    throw weightsError(
      WeightsErrorCodes.DTYPE,
      context,
      `descr ${quoteName(descr)} is not supported${why}; supported: ${SUPPORTED_LIST}`,
    );
  }
  if (orderValue.kind !== 'bool') {
    throw weightsError(WeightsErrorCodes.HEADER, context, `fortran_order must be True or False but is ${pyKind(orderValue)}`);
  }
  if (shapeValue.kind !== 'tuple') {
    throw weightsError(WeightsErrorCodes.HEADER, context, `shape must be a tuple of ints but is ${pyKind(shapeValue)}`);
  }
  const shape: number[] = [];
  let count = 1;
  shapeValue.items.forEach((item, index) => {
    if (item.kind !== 'int' || item.value < 0n) {
      throw weightsError(WeightsErrorCodes.HEADER, context, `shape[${index}] must be a non-negative int but is ${pyKind(item)}`);
    }
    if (item.value > BigInt(MAX_DIMENSION)) {
      throw weightsError(
        WeightsErrorCodes.SIZE,
        context,
        `shape[${index}] is ${item.value}; dimensions above ${MAX_DIMENSION} are not supported`,
      );
    }
    shape.push(Number(item.value));
    count *= Number(item.value);
    if (!Number.isSafeInteger(count * ITEM_SIZE[encoding.kind])) {
      throw weightsError(WeightsErrorCodes.SIZE, context, 'the byte size of the shape overflows');
    }
  });
  return { descr, encoding, fortranOrder: orderValue.value, shape, count };
}

function pyKind(value: PyValue): string {
  switch (value.kind) {
    case 'int': return `the int ${value.value}`;
    case 'str': return `the str ${quoteName(value.value)}`;
    case 'bool': return value.value ? 'True' : 'False';
    case 'none': return 'None';
    case 'tuple': return `a tuple of ${value.items.length}`;
    case 'list': return `a list of ${value.items.length}`;
  }
}

/** Fortran (first axis fastest) → C (last axis fastest) order: an odometer over C indices. */
export function fortranToC(source: Float32Array, shape: readonly number[]): Float32Array {
  const rank = shape.length;
  const out = allocateFloats(source.length);
  if (source.length === 0) return out;
  const strides = new Array<number>(rank);  // Fortran strides
  let stride = 1;
  for (let axis = 0; axis < rank; axis++) {
    strides[axis] = stride;
    stride *= shape[axis];
  }
  const index = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const lastExtent = shape[last];
  const lastStride = strides[last];
  let base = 0;  // Fortran offset of the current C row's first element
  for (let row = 0; row < out.length; row += lastExtent) {
    for (let j = 0, from = base; j < lastExtent; j++, from += lastStride) out[row + j] = source[from];
    for (let axis = last - 1; axis >= 0; axis--) {
      if (++index[axis] < shape[axis]) {
        base += strides[axis];
        break;
      }
      base -= strides[axis] * (shape[axis] - 1);
      index[axis] = 0;
    }
  }
  return out;
}

/** The v1.0 preamble and header for a C-order '<f4' array, padded so the data starts at a multiple of 64. */
export function npyHeader(shape: readonly number[]): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = NPY_MAGIC.length + 2 + 2 + dict.length + 1;
  const headerLength = Math.ceil(unpadded / 64) * 64 - NPY_MAGIC.length - 4;
  if (headerLength > NPY_HEADER_CAP) {
    throw rangeError(
      ErrorCodes.TOO_LARGE,
      `shape has ${shape.length} dimensions: its .npy header would exceed ${NPY_HEADER_CAP} bytes`,
    );
  }
  const out = Buffer.alloc(NPY_MAGIC.length + 4 + headerLength, 0x20);
  out.set(NPY_MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(headerLength, 8);
  out.write(dict, 10, 'latin1');
  out[out.length - 1] = 0x0a;
  return out;
}

function npyChunks(tensor: unknown): Uint8Array[] {
  const checked = readTensor(tensor, 'tensor');
  return [npyHeader(checked.shape), float32LittleEndianBytes(checked.data)];
}

/** A version 1.0 .npy file ('<f4', C order) holding `tensor`. */
export function encodeNpy(tensor: TensorLike): Uint8Array {
  return concatChunks(npyChunks(tensor));
}

/** Writes `encodeNpy(tensor)` to a temporary file beside `path`, then renames it. */
export function saveNpy(path: string, tensor: TensorLike): void {
  inputString(path, 'path');
  writeFileAtomic(path, npyChunks(tensor));
}
