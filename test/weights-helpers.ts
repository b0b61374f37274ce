// Builders for weight files (valid and hostile, byte by byte), the NumPy probe, and the assertion that a
// call fails with a WeightsError of a given code.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { expect } from 'vitest';

import { WeightsError, type WeightsErrorCode } from '../lib/io';
import { crc32 } from '../lib/io/crc32';

/** Debian's python3 has numpy; the pyenv `python3` on PATH may not. CI installs python3-numpy. */
export const NUMPY_PYTHON = process.env.CONV1X1_NUMPY_PYTHON ?? '/usr/bin/python3';

export const numpyAvailable: boolean = (() => {
  const probe = spawnSync(NUMPY_PYTHON, ['-c', 'import numpy'], { stdio: 'ignore', timeout: 30_000 });
  return probe.status === 0;
})();

export const NO_NUMPY_REASON =
  `${NUMPY_PYTHON} with numpy is not available (apt-get install python3-numpy, or set CONV1X1_NUMPY_PYTHON)`;

export function runPython(code: string, cwd: string): string {
  const result = spawnSync(NUMPY_PYTHON, ['-c', code], { cwd, encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`python failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

export function makeTempDir(prefix = 'conv1x1-weights-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs `fn` and asserts that it throws a WeightsError with `code`; returns the error. */
export function expectWeightsError(fn: () => unknown, code: WeightsErrorCode): WeightsError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a WeightsError to be thrown').toBeInstanceOf(WeightsError);
  expect((thrown as WeightsError).code, (thrown as Error).message).toBe(code);
  return thrown as WeightsError;
}

export function concat(...parts: (Uint8Array | string)[]): Uint8Array {
  const arrays = parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : part));
  const out = new Uint8Array(arrays.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of arrays) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function u64le(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
}

export function f32Bytes(values: readonly number[] | Float32Array): Uint8Array {
  const floats = Float32Array.from(values);
  return new Uint8Array(floats.buffer);
}

/** A safetensors file from raw header text (so duplicates and odd numbers can be written) and data. */
export function safetensorsBytes(
  header: string | Uint8Array,
  data: Uint8Array = new Uint8Array(0),
  declaredLength?: bigint,
): Uint8Array {
  const headerBytes = typeof header === 'string' ? Buffer.from(header, 'utf8') : header;
  return concat(u64le(declaredLength ?? BigInt(headerBytes.length)), headerBytes, data);
}

export function tensorEntry(name: string, dtype: string, shape: readonly (number | string)[], begin: number | string, end: number | string): string {
  return `${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${begin},${end}]}`;
}

/** A .npy file from a raw header dict (padded and newline-terminated unless told otherwise). */
export function npyBytes(
  dict: string,
  data: Uint8Array,
  options: { major?: number; minor?: number; newline?: boolean; headerBytes?: Uint8Array } = {},
): Uint8Array {
  const major = options.major ?? 1;
  const lengthSize = major === 1 ? 2 : 4;
  let header = options.headerBytes ?? Buffer.from(dict, 'latin1');
  if (!options.headerBytes) {
    const unpadded = 8 + lengthSize + header.length + 1;
    const pad = (64 - (unpadded % 64)) % 64;
    header = concat(header, ' '.repeat(pad), options.newline === false ? ' ' : '\n');
  }
  const preamble = new Uint8Array(8 + lengthSize);
  preamble.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, options.minor ?? 0]);
  const view = new DataView(preamble.buffer);
  if (lengthSize === 2) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  return concat(preamble, header, data);
}

export function f4Dict(shape: string, descr = '<f4', fortran = 'False'): string {
  return `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
}

export interface ZipEntrySpec {
  name: string;
  data: Uint8Array;
  method?: number;
  /** The bytes to store (default: data, or data deflated for method 8). */
  payload?: Uint8Array;
  declaredSize?: number;
  crc?: number;
  flags?: number;
  localName?: string;
  /** Where the local header claims to be (default: where it is written). */
  localOffset?: number;
}

export interface ZipOptions {
  comment?: string;
  entriesField?: number;
  centralOffsetField?: number;
  centralSizeField?: number;
}

/** A zip archive whose every field can be made to lie. */
export function zipBytes(entries: readonly ZipEntrySpec[], options: ZipOptions = {}): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const entry of entries) {
    const method = entry.method ?? 0;
    const payload = entry.payload ?? (method === 8 ? zlib.deflateRawSync(entry.data) : entry.data);
    const name = Buffer.from(entry.name, 'utf8');
    const localName = entry.localName === undefined ? name : Buffer.from(entry.localName, 'utf8');
    const flags = entry.flags ?? (/[^\x00-\x7f]/.test(entry.name) ? 0x800 : 0);
    const crc = entry.crc ?? crc32(entry.data);
    const size = entry.declaredSize ?? entry.data.length;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(payload.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(localName.length, 26);
    locals.push(local, localName, payload);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(payload.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(entry.localOffset ?? offset, 42);
    centrals.push(central, name);
    offset += local.length + localName.length + payload.length;
  }
  const centralBytes = concat(...centrals);
  const comment = Buffer.from(options.comment ?? '', 'utf8');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(options.entriesField ?? entries.length, 8);
  end.writeUInt16LE(options.entriesField ?? entries.length, 10);
  end.writeUInt32LE(options.centralSizeField ?? centralBytes.length, 12);
  end.writeUInt32LE(options.centralOffsetField ?? offset, 16);
  end.writeUInt16LE(comment.length, 20);
  return concat(...locals, centralBytes, end, comment);
}

/** Bit patterns, so that NaNs and signed zeros compare exactly. */
export function bits(values: Float32Array): number[] {
  return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}
