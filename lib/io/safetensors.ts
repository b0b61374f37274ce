// safetensors: u64 LE header length N, N bytes of UTF-8 JSON, then the tensors' bytes. The reader follows
// upstream's validation (huggingface/safetensors: tensor.rs) and is stricter where upstream is lenient:
// duplicate keys and unknown fields are errors, and the header is capped at 16 MiB instead of 100 MB.
import { describe, ErrorCodes, rangeError, typeError } from '../errors';
import { MAX_DIMENSION, readTensor, Tensor, type TensorLike } from '../tensor';
import { concatChunks, inputBytes, inputString, writeFileAtomic } from './file-io';
import { decodeFloats, float32LittleEndianBytes, type FloatEncoding, ITEM_SIZE } from './float-codec';
import { JsonNumber, JsonParseError, parseStrictJson, type JsonValue } from './strict-json';
import { createWeightStore, type StoreEntry, type WeightStore } from './weight-store';
import { BYTES_SOURCE, quoteName, type ReadContext, weightsError, WeightsErrorCodes } from './weights-error';

export const SAFETENSORS_HEADER_CAP = 16 * 1024 * 1024;

const SUPPORTED_DTYPES: ReadonlyMap<string, FloatEncoding> = new Map([
  ['F32', { kind: 'f32', littleEndian: true }],
  ['F16', { kind: 'f16', littleEndian: true }],
  ['BF16', { kind: 'bf16', littleEndian: true }],
  ['F64', { kind: 'f64', littleEndian: true }],
] as const);

const SUPPORTED_LIST = [...SUPPORTED_DTYPES.keys()].join(', ');
const TENSOR_FIELDS = new Set(['dtype', 'shape', 'data_offsets']);
const METADATA_KEY = '__metadata__';

interface HeaderEntry {
  name: string;
  dtype: string;
  encoding: FloatEncoding;
  shape: number[];
  count: number;
  begin: bigint;
  end: bigint;
}

/**
 * Reads a safetensors file. Everything is validated here; tensors are converted to float32 on first
 * access. F32 data at a 4-byte-aligned address is not copied: the tensor views `bytes`.
 */
export function readSafetensors(bytes: Uint8Array, source: string = BYTES_SOURCE): WeightStore {
  const data = inputBytes(bytes, 'bytes');
  const context: ReadContext = { source: inputString(source, 'source') };

  if (data.length < 8) {
    throw weightsError(
      WeightsErrorCodes.TRUNCATED,
      context,
      `${data.length} bytes is too short for the 8-byte header length of a safetensors file`,
    );
  }
  // Read as BigInt and compared with what follows before anything is allocated or decoded.
  const declared = new DataView(data.buffer, data.byteOffset, 8).getBigUint64(0, true);
  const available = BigInt(data.length - 8);
  if (declared > available) {
    throw weightsError(
      WeightsErrorCodes.TRUNCATED,
      context,
      `the header length is ${declared} bytes but only ${available} bytes follow it`,
    );
  }
  if (declared > BigInt(SAFETENSORS_HEADER_CAP)) {
    throw weightsError(
      WeightsErrorCodes.LIMIT,
      context,
      `the header length is ${declared} bytes; at most ${SAFETENSORS_HEADER_CAP} are accepted`,
    );
  }
  const headerLength = Number(declared);
  const dataStart = 8 + headerLength;
  const dataLength = data.length - dataStart;

  const header = parseHeader(data.subarray(8, dataStart), context);
  const tensors: HeaderEntry[] = [];
  let metadata = new Map<string, string>();
  for (const [name, value] of header) {
    if (name === METADATA_KEY) metadata = parseMetadata(value, context);
    else tensors.push(parseTensorEntry(name, value, context));
  }
  checkLayout(tensors, BigInt(dataLength), context);

  const entries = new Map<string, StoreEntry>();
  for (const tensor of tensors) {
    const offset = dataStart + Number(tensor.begin);
    entries.set(tensor.name, {
      dtype: tensor.dtype,
      shape: Object.freeze(tensor.shape),
      decode: () => Tensor.fromTrusted(decodeFloats(data, offset, tensor.count, tensor.encoding), tensor.shape),
    });
  }
  return createWeightStore(context.source, 'safetensors', entries, metadata);
}

function parseHeader(headerBytes: Uint8Array, context: ReadContext): Map<string, JsonValue> {
  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text, where the JSON parser rejects it.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch (cause) {
    throw weightsError(WeightsErrorCodes.HEADER, context, 'the header is not valid UTF-8', cause);
  }
  let json: JsonValue;
  try {
    json = parseStrictJson(text);
  } catch (cause) {
    if (!(cause instanceof JsonParseError)) throw cause;
    if (cause.reason === 'duplicate' && cause.depth === 1) {
      throw weightsError(
        WeightsErrorCodes.DUPLICATE,
        { ...context, tensor: cause.key },
        'the name appears more than once in the header',
        cause,
      );
    }
    throw weightsError(WeightsErrorCodes.HEADER, context, `the header is not valid JSON: ${cause.message}`, cause);
  }
  if (!(json instanceof Map)) {
    throw weightsError(WeightsErrorCodes.HEADER, context, `the header must be a JSON object but is ${jsonKind(json)}`);
  }
  return json;
}

function parseMetadata(value: JsonValue, context: ReadContext): Map<string, string> {
  if (!(value instanceof Map)) {
    throw weightsError(
      WeightsErrorCodes.HEADER,
      context,
      `${METADATA_KEY} must be an object of strings but is ${jsonKind(value)}`,
    );
  }
  for (const [key, entry] of value) {
    if (typeof entry !== 'string') {
      throw weightsError(
        WeightsErrorCodes.HEADER,
        context,
        `${METADATA_KEY}[${quoteName(key)}] must be a string but is ${jsonKind(entry)}`,
      );
    }
  }
  return value as Map<string, string>;
}

function parseTensorEntry(name: string, value: JsonValue, fileContext: ReadContext): HeaderEntry {
  const context = { ...fileContext, tensor: name };
  const fail = (detail: string) => weightsError(WeightsErrorCodes.HEADER, context, detail);
  if (!(value instanceof Map)) {
    throw fail(`the entry must be an object with dtype, shape and data_offsets but is ${jsonKind(value)}`);
  }
  for (const key of value.keys()) {
    if (!TENSOR_FIELDS.has(key)) throw fail(`unknown field ${quoteName(key)}`);
  }
  const dtype = value.get('dtype');
  const shapeValue = value.get('shape');
  const offsetsValue = value.get('data_offsets');
  if (typeof dtype !== 'string') throw fail(`dtype must be a string but is ${jsonKind(dtype)}`);
  if (!Array.isArray(shapeValue)) throw fail(`shape must be an array but is ${jsonKind(shapeValue)}`);
  if (!Array.isArray(offsetsValue) || offsetsValue.length !== 2) {
    throw fail(`data_offsets must be an array [begin, end] but is ${jsonKind(offsetsValue)}`);
  }

  const encoding = SUPPORTED_DTYPES.get(dtype);
  if (encoding === undefined) {
    throw weightsError(
      WeightsErrorCodes.DTYPE,
      context,
      `dtype ${quoteName(dtype)} is not supported; supported: ${SUPPORTED_LIST}`,
    );
  }

  const shape: number[] = [];
  let count = 1;
  shapeValue.forEach((dimValue, index) => {
    const dim = dimValue instanceof JsonNumber ? dimValue.toNonNegativeInteger() : undefined;
    if (dim === undefined) {
      throw fail(`shape[${index}] must be a non-negative integer but is ${jsonKind(dimValue)}`);
    }
    if (dim > BigInt(MAX_DIMENSION)) {
      throw weightsError(
        WeightsErrorCodes.SIZE,
        context,
        `shape[${index}] is ${dim}; dimensions above ${MAX_DIMENSION} are not supported`,
      );
    }
    shape.push(Number(dim));
    count *= Number(dim);
    if (!Number.isSafeInteger(count * ITEM_SIZE[encoding.kind])) {
      throw weightsError(WeightsErrorCodes.SIZE, context, `the byte size of shape [${shapeText(shapeValue)}] overflows`);
    }
  });

  const [begin, end] = offsetsValue.map((offset, index) => {
    const parsed = offset instanceof JsonNumber ? offset.toNonNegativeInteger() : undefined;
    if (parsed === undefined) {
      throw fail(`data_offsets[${index}] must be a non-negative integer but is ${jsonKind(offset)}`);
    }
    return parsed;
  });
  if (end < begin) {
    throw weightsError(WeightsErrorCodes.OFFSETS, context, `data_offsets [${begin}, ${end}] end before they begin`);
  }
  const byteSize = BigInt(count * ITEM_SIZE[encoding.kind]);
  if (end - begin !== byteSize) {
    throw weightsError(
      WeightsErrorCodes.SIZE,
      context,
      `shape [${shape.join(', ')}] of ${dtype} needs ${byteSize} bytes but data_offsets [${begin}, ${end}] ` +
        `span ${end - begin}`,
    );
  }
  return { name, dtype, encoding, shape, count, begin, end };
}

/** Sorted by offsets, tensors must tile the data section exactly: from 0, no holes, no overlap, no tail. */
function checkLayout(tensors: readonly HeaderEntry[], dataLength: bigint, context: ReadContext): void {
  const sorted = [...tensors].sort((a, b) => compare(a.begin, b.begin) || compare(a.end, b.end));
  let expected = 0n;
  for (const tensor of sorted) {
    if (tensor.begin !== expected) {
      const what = expected === 0n
        ? 'the first tensor must start at offset 0'
        : tensor.begin < expected
          ? `it overlaps the previous tensor, which ends at ${expected}`
          : `it leaves a hole: the previous tensor ends at ${expected}`;
      throw weightsError(
        WeightsErrorCodes.OFFSETS,
        { ...context, tensor: tensor.name },
        `data_offsets [${tensor.begin}, ${tensor.end}]: ${what}`,
      );
    }
    expected = tensor.end;
  }
  if (expected > dataLength) {
    throw weightsError(
      WeightsErrorCodes.TRUNCATED,
      context,
      `the tensors need ${expected} bytes of data but the file has ${dataLength}`,
    );
  }
  if (expected < dataLength) {
    throw weightsError(
      WeightsErrorCodes.OFFSETS,
      context,
      `${dataLength - expected} trailing bytes after the last tensor (data ends at ${expected} of ${dataLength})`,
    );
  }
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function shapeText(values: readonly JsonValue[]): string {
  return values.map((value) => (value instanceof JsonNumber ? value.text : jsonKind(value))).join(', ');
}

function jsonKind(value: JsonValue | undefined): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (value instanceof JsonNumber) return `the number ${value.text.length > 40 ? `${value.text.slice(0, 40)}…` : value.text}`;
  if (value instanceof Map) return 'an object';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'string') return `the string ${quoteName(value)}`;
  return `the boolean ${value}`;
}

/** The file as byte chunks: 8-byte length, space-padded header, then each tensor's little-endian floats. */
function safetensorsChunks(tensors: unknown, metadata: unknown): Uint8Array[] {
  if (tensors === null || typeof tensors !== 'object' || Array.isArray(tensors)) {
    throw typeError(
      ErrorCodes.INVALID_ARG_TYPE,
      `tensors must be an object mapping names to tensors but received ${describe(tensors)}`,
    );
  }
  const fields: string[] = [];
  if (metadata !== undefined) fields.push(`${JSON.stringify(METADATA_KEY)}:${metadataJson(metadata)}`);
  const data: Uint8Array[] = [];
  let offset = 0;
  for (const name of Object.keys(tensors)) {
    const label = `tensors[${JSON.stringify(name)}]`;
    checkName(name, label);
    const tensor = readTensor((tensors as Record<string, unknown>)[name], label);
    const bytes = float32LittleEndianBytes(tensor.data);
    fields.push(
      `${JSON.stringify(name)}:{"dtype":"F32","shape":[${tensor.shape.join(',')}],` +
        `"data_offsets":[${offset},${offset + bytes.length}]}`,
    );
    data.push(bytes);
    offset += bytes.length;
  }
  const json = Buffer.from(`{${fields.join(',')}}`, 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;  // data then starts 8-byte aligned
  const header = Buffer.alloc(8 + padded, 0x20);
  header.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(header, 8);
  return [header, ...data];
}

function checkName(name: string, label: string): void {
  if (name === METADATA_KEY) {
    throw rangeError(ErrorCodes.INVALID_ARG_VALUE, `${label}: "${METADATA_KEY}" is reserved for metadata`);
  }
  if (/\p{Cs}/u.test(name)) {
    throw rangeError(ErrorCodes.INVALID_ARG_VALUE, `${label}: the name contains an unpaired surrogate`);
  }
}

function metadataJson(metadata: unknown): string {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw typeError(
      ErrorCodes.INVALID_ARG_TYPE,
      `metadata must be an object of strings but received ${describe(metadata)}`,
    );
  }
  const fields = Object.keys(metadata).map((key) => {
    const value = (metadata as Record<string, unknown>)[key];
    const label = `metadata[${JSON.stringify(key)}]`;
    if (typeof value !== 'string') {
      throw typeError(ErrorCodes.INVALID_ARG_TYPE, `${label} must be a string but received ${describe(value)}`);
    }
    if (/\p{Cs}/u.test(key) || /\p{Cs}/u.test(value)) {
      throw rangeError(ErrorCodes.INVALID_ARG_VALUE, `${label} contains an unpaired surrogate`);
    }
    return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
  });
  return `{${fields.join(',')}}`;
}

/** A safetensors file of float32 tensors (in key order), with optional string metadata. */
export function encodeSafetensors(
  tensors: Readonly<Record<string, TensorLike>>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  return concatChunks(safetensorsChunks(tensors, metadata));
}

/** Writes `encodeSafetensors(tensors, metadata)` to a temporary file beside `path`, then renames it. */
export function saveSafetensors(
  path: string,
  tensors: Readonly<Record<string, TensorLike>>,
  metadata?: Readonly<Record<string, string>>,
): void {
  inputString(path, 'path');
  writeFileAtomic(path, safetensorsChunks(tensors, metadata));
}
