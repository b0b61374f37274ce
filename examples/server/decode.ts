// Request decoding: which body format the Content-Type names, the X-Shape of a raw body, and the
// body itself as an [N, C, H, W] float32 tensor. Header checks run before the body is read.
import { endianness } from 'node:os';

import { readNpy, Tensor } from 'conv1x1';

import { ErrorCodes, HttpError, quote } from './http-error';

export type BodyFormat = 'npy' | 'raw';

export const NPY_TYPE = 'application/x-npy';
export const RAW_TYPE = 'application/octet-stream';
const RANK = 4;

/** The media type of Content-Type, parameters ignored: 400 when missing, 415 when not one of ours. */
export function bodyFormat(contentType: string | undefined): BodyFormat {
  if (contentType === undefined || contentType.trim() === '') {
    throw new HttpError(400, ErrorCodes.BAD_CONTENT_TYPE,
      `Content-Type is missing; expected ${NPY_TYPE} or ${RAW_TYPE} (with X-Shape: N,C,H,W)`);
  }
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  if (mediaType === NPY_TYPE) return 'npy';
  if (mediaType === RAW_TYPE) return 'raw';
  throw new HttpError(415, ErrorCodes.UNSUPPORTED_MEDIA_TYPE,
    `Content-Type ${quote(contentType)} is not supported; expected ${NPY_TYPE} or ${RAW_TYPE} (with X-Shape: N,C,H,W)`);
}

function checkShape(shape: readonly number[], source: string, inputChannels: number | undefined): void {
  if (shape.length !== RANK) {
    throw new HttpError(400, ErrorCodes.BAD_SHAPE, `${source} has ${shape.length} dimensions; expected 4: N,C,H,W`);
  }
  const zero = shape.findIndex((d) => d < 1);
  if (zero >= 0) {
    throw new HttpError(400, ErrorCodes.BAD_SHAPE, `${source} has ${'NCHW'[zero]} = ${shape[zero]}; every dimension must be at least 1`);
  }
  if (inputChannels !== undefined && shape[1] !== inputChannels) {
    throw new HttpError(400, ErrorCodes.BAD_SHAPE, `${source} has C = ${shape[1]}; the model takes ${inputChannels} input channels`);
  }
}

/** X-Shape: N,C,H,W (spaces allowed), for a raw body. */
export function rawShape(header: string | undefined, inputChannels: number | undefined): number[] {
  if (header === undefined) {
    throw new HttpError(400, ErrorCodes.BAD_SHAPE, `X-Shape is missing; a ${RAW_TYPE} body needs X-Shape: N,C,H,W`);
  }
  const parts = header.split(',').map((part) => part.trim());
  if (parts.length !== RANK || !parts.every((part) => /^\d{1,10}$/.test(part))) {
    throw new HttpError(400, ErrorCodes.BAD_SHAPE, `X-Shape is ${quote(header)}; expected four integers N,C,H,W such as 8,32,56,56`);
  }
  const shape = parts.map(Number);
  checkShape(shape, `X-Shape ${quote(header)}`, inputChannels);
  return shape;
}

/** A raw body's size follows from its X-Shape: refused before reading when Content-Length disagrees. */
export function checkRawLength(shape: readonly number[], bytes: number, source: string): void {
  const expected = shape.reduce((a, b) => a * b, 4);
  if (bytes !== expected) {
    throw new HttpError(400, ErrorCodes.BAD_BODY,
      `${source} is ${bytes} bytes but X-Shape ${shape.join(',')} needs ${expected} (float32 little-endian, C order)`);
  }
}

/** The header fields of a .npy body, read before the array so that dtype and order get their own answers. */
function npyHeader(body: Uint8Array): string | null {
  if (body.length < 10 || body[0] !== 0x93 || String.fromCharCode(...body.subarray(1, 6)) !== 'NUMPY') return null;
  const major = body[6];
  const length = major === 1 ? body[8] | (body[9] << 8) : body.length >= 12 ? new DataView(body.buffer, body.byteOffset).getUint32(8, true) : 0;
  const start = major === 1 ? 10 : 12;
  return Buffer.from(body.buffer, body.byteOffset + start, Math.max(0, Math.min(length, body.length - start, 10_000))).toString('latin1');
}

function decodeNpy(body: Uint8Array, inputChannels: number | undefined): Tensor {
  const header = npyHeader(body);
  const descr = header?.match(/'descr'\s*:\s*'([^']*)'/)?.[1];
  if (descr !== undefined && descr !== '<f4') {
    throw new HttpError(400, ErrorCodes.BAD_DTYPE, `the .npy dtype (descr) is ${quote(descr)}; expected '<f4' (float32 little-endian)`);
  }
  if (header && /'fortran_order'\s*:\s*True/.test(header)) {
    throw new HttpError(400, ErrorCodes.BAD_BODY, 'the .npy array is in Fortran order (fortran_order: True); expected C order');
  }
  let tensor: Tensor;
  try {
    tensor = readNpy(body, 'request body');
  } catch (error) {
    throw new HttpError(400, ErrorCodes.BAD_BODY, `the body is not a valid .npy file: ${(error as Error).message}`);
  }
  checkShape(tensor.shape, `the .npy shape (${tensor.shape.join(', ')})`, inputChannels);
  return tensor;
}

function decodeRaw(body: Uint8Array, shape: readonly number[]): Tensor {
  checkRawLength(shape, body.length, 'the body');
  // readBody hands over a fresh, aligned buffer: the floats are viewed in place.
  const data = new Float32Array(body.buffer, body.byteOffset, body.length / 4);
  if (endianness() === 'BE') Buffer.from(body.buffer, body.byteOffset, body.length).swap32();
  return new Tensor(data, shape);
}

export function decodeBatch(format: BodyFormat, body: Uint8Array, shape: readonly number[] | null, inputChannels: number | undefined): Tensor {
  return format === 'npy' ? decodeNpy(body, inputChannels) : decodeRaw(body, shape!);
}
