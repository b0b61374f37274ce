// Tensors are a Float32Array and a shape, row-major. Plain `{ data, shape }` objects are accepted
// wherever a Tensor is; readTensor() checks either kind once, at the boundary.
import { constants as bufferConstants } from 'node:buffer';

import { Conv1x1Error, describe, ErrorCodes, rangeError, shapeError, typeError } from './errors';

export interface TensorLike {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Largest dimension accepted (2^31 − 1): far beyond any real image or channel count. */
export const MAX_DIMENSION = 2 ** 31 - 1;
/** Largest element count of one Float32Array in V8 (2^32). */
export const MAX_ELEMENTS = 2 ** 32;

export class Tensor implements TensorLike {
  readonly data: Float32Array;
  readonly shape: readonly number[];

  constructor(data: Float32Array, shape: readonly number[]) {
    const checked = readTensor({ data, shape }, 'tensor');
    this.data = checked.data;
    this.shape = Object.freeze([...checked.shape]);
  }

  /** Number of elements (the product of the shape). */
  get size(): number {
    return this.data.length;
  }

  static zeros(shape: readonly number[]): Tensor {
    const count = elementCount(readShape(shape, 'shape'), 'shape');
    return new Tensor(allocateFloats(count, { zeroed: true }), shape);
  }

  /** Wraps the result of a computation whose shape the library itself derived. */
  static fromTrusted(data: Float32Array, shape: readonly number[]): Tensor {
    const tensor = Object.create(Tensor.prototype) as { data: Float32Array; shape: readonly number[] };
    tensor.data = data;
    tensor.shape = Object.freeze([...shape]);
    return tensor as Tensor;
  }
}

/** Whether two arrays share any byte of memory. */
export function sharesMemory(a: Float32Array, b: Float32Array | null): boolean {
  if (!b || a.buffer !== b.buffer || a.length === 0 || b.length === 0) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

export function isDetached(buffer: ArrayBufferLike): boolean {
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/** A SharedArrayBuffer or a resizable/growable buffer: its contents or length may change under us. */
export function isVolatileBuffer(buffer: ArrayBufferLike): boolean {
  if (typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer) return true;
  const flags = buffer as { resizable?: boolean; growable?: boolean };
  return flags.resizable === true || flags.growable === true;
}

export function readShape(value: unknown, name: string): number[] {
  if (!Array.isArray(value)) {
    throw typeError(
      ErrorCodes.INVALID_ARG_TYPE,
      `${name} must be an array of integers but received ${describe(value)}`,
    );
  }
  return value as number[];
}

/**
 * Memory for an output. Not zeroed unless asked (the convolution writes every element), and taken
 * where a failure is a catchable error: V8's native allocation would abort the process instead.
 */
export function allocateFloats(count: number, options: { zeroed?: boolean } = {}): Float32Array {
  try {
    if (!options.zeroed && count * 4 <= bufferConstants.MAX_LENGTH) {
      const bytes = Buffer.allocUnsafeSlow(count * 4);  // its own ArrayBuffer, offset 0
      return new Float32Array(bytes.buffer, bytes.byteOffset, count);
    }
    return new Float32Array(count);
  } catch (cause) {
    throw new Conv1x1Error(
      `could not allocate ${count * 4} bytes for a ${count}-element output`,
      ErrorCodes.OUT_OF_MEMORY,
      { cause },
    );
  }
}

/** The element count of a shape already checked (elementCount checks one as it counts). */
export function elementsOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Product of a shape with checks that name the offending index. The name is `name + suffix`, joined
 * only when a message needs it (this runs on every call).
 */
export function elementCount(shape: readonly number[], baseName: string, suffix = ''): number {
  let count = 1;
  // An index loop, not forEach: holes in a sparse array must be checked too.
  for (let index = 0; index < shape.length; index++) {
    const dim = shape[index];
    if (typeof dim !== 'number') {
      throw typeError(
        ErrorCodes.INVALID_ARG_TYPE,
        `${baseName + suffix}[${index}] must be a number but received ${describe(dim)}`,
      );
    }
    if (!Number.isInteger(dim) || dim < 0 || dim > MAX_DIMENSION) {
      throw rangeError(
        ErrorCodes.OUT_OF_RANGE,
        `${baseName + suffix}[${index}] must be an integer from 0 to ${MAX_DIMENSION} but received ${describe(dim)}`,
      );
    }
    count *= dim;
  }
  if (count > MAX_ELEMENTS) {
    throw rangeError(
      ErrorCodes.TOO_LARGE,
      `${baseName + suffix} [${shape.join(', ')}] has ${count} elements; a Float32Array holds at most ${MAX_ELEMENTS}`,
    );
  }
  return count;
}

export interface ReadTensorOptions {
  /** Allowed ranks, e.g. [4] or [2, 4]. */
  ranks?: readonly number[];
  /** What the ranks mean, for the message: "[N, C, H, W]". */
  layoutHint?: string;
  /**
   * SharedArrayBuffer- or resizable-buffer-backed data is copied (a snapshot at call time) unless
   * this is set, in which case it is rejected (outputs must be written where the caller can see them).
   */
  rejectVolatile?: boolean;
}

/** Validates a Tensor or `{ data, shape }` and returns its data (copied only when volatile) and shape. */
export function readTensor(value: unknown, name: string, options: ReadTensorOptions = {}): TensorLike {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) {
    throw typeError(
      ErrorCodes.INVALID_ARG_TYPE,
      `${name} must be a Tensor or a { data, shape } object but received ${describe(value)}`,
    );
  }
  const { data, shape } = value as { data?: unknown; shape?: unknown };
  if (!(data instanceof Float32Array)) {
    throw typeError(
      ErrorCodes.INVALID_ARG_TYPE,
      `${name}.data must be a Float32Array but received ${describe(data)}`,
    );
  }
  if (!Array.isArray(shape)) readShape(shape, `${name}.shape`);  // throws
  const dims = shape as number[];
  if (options.ranks && !options.ranks.includes(dims.length)) {
    const expected = options.ranks.join(' or ');
    const hint = options.layoutHint ? ` ${options.layoutHint}` : '';
    throw shapeError(
      `${name}.shape must have ${expected} dimensions${hint} but has ${dims.length} ([${dims.join(', ')}])`,
    );
  }
  const count = elementCount(dims, name, '.shape');
  if (isDetached(data.buffer)) {
    throw typeError(
      ErrorCodes.BUFFER_DETACHED,
      `${name}.data's ArrayBuffer is detached (it was transferred or freed)`,
    );
  }
  if (data.length !== count) {
    throw shapeError(
      `${name}.data has ${data.length} elements but ${name}.shape [${dims.join(', ')}] needs ${count}`,
    );
  }
  let checked = data;
  if (isVolatileBuffer(data.buffer)) {
    if (options.rejectVolatile) {
      throw typeError(
        ErrorCodes.INVALID_ARG_TYPE,
        `${name}.data is backed by a SharedArrayBuffer or a resizable ArrayBuffer; ` +
          'pass a Float32Array over an ordinary ArrayBuffer',
      );
    }
    checked = new Float32Array(data);  // snapshot: another thread may write or resize it
  }
  return { data: checked, shape: dims };
}
