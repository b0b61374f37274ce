// Raw little/big-endian float bytes ⇄ float32. Aligned little-endian float32 is returned as a view over
// the caller's memory (no copy); everything else is copied into fresh, aligned memory first, because a
// typed array cannot start at an unaligned offset.
import { ErrorCodes, typeError } from '../errors';
import { allocateFloats, isDetached } from '../tensor';

export type FloatKind = 'f16' | 'bf16' | 'f32' | 'f64';

export interface FloatEncoding {
  readonly kind: FloatKind;
  readonly littleEndian: boolean;
}

export const ITEM_SIZE: Readonly<Record<FloatKind, number>> = { f16: 2, bf16: 2, f32: 4, f64: 8 };

export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `count` floats of `encoding` starting at `bytes[offset]`, as float32. The range must be in bounds. */
export function decodeFloats(
  bytes: Uint8Array,
  offset: number,
  count: number,
  encoding: FloatEncoding,
): Float32Array {
  if (isDetached(bytes.buffer)) {
    throw typeError(
      ErrorCodes.BUFFER_DETACHED,
      'the bytes these weights were read from have been detached (transferred) since',
    );
  }
  const itemSize = ITEM_SIZE[encoding.kind];
  const absolute = bytes.byteOffset + offset;
  const native = encoding.littleEndian === HOST_LITTLE_ENDIAN;
  if (encoding.kind === 'f32' && native && absolute % 4 === 0) {
    return new Float32Array(bytes.buffer, absolute, count);
  }
  if (encoding.kind === 'f32') {
    const out = allocateFloats(count);
    const outBytes = new Uint8Array(out.buffer, out.byteOffset, count * 4);
    outBytes.set(bytes.subarray(offset, offset + count * 4));
    if (!native) swapBytes(outBytes, 4);
    return out;
  }
  // Wider or narrower floats: an aligned, host-order copy of the source, then a widening/narrowing pass.
  // Not bytes.slice(): on a Node Buffer that is a view, not a copy.
  const source = new Uint8Array(count * itemSize);
  source.set(bytes.subarray(offset, offset + count * itemSize));
  if (!native) swapBytes(source, itemSize);
  if (encoding.kind === 'f64') {
    const out = allocateFloats(count);
    out.set(new Float64Array(source.buffer, 0, count));
    return out;
  }
  const halves = new Uint16Array(source.buffer, 0, count);
  const out = allocateFloats(count);
  const bits = new Uint32Array(out.buffer, out.byteOffset, count);
  if (encoding.kind === 'bf16') {
    for (let i = 0; i < count; i++) bits[i] = halves[i] << 16;
  } else {
    for (let i = 0; i < count; i++) bits[i] = halfToFloatBits(halves[i]);
  }
  return out;
}

/** IEEE binary16 → binary32 bit pattern, exact (subnormals normalised, NaN payloads kept). */
export function halfToFloatBits(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >> 10) & 0x1f;
  let mantissa = half & 0x3ff;
  if (exponent === 0x1f) return sign | 0x7f800000 | (mantissa << 13);
  if (exponent !== 0) return sign | ((exponent + 112) << 23) | (mantissa << 13);
  if (mantissa === 0) return sign;
  let biased = 113;
  while ((mantissa & 0x400) === 0) {
    mantissa <<= 1;
    biased--;
  }
  return sign | (biased << 23) | ((mantissa & 0x3ff) << 13);
}

/** The little-endian bytes of `data`: a view on little-endian hosts, a swapped copy elsewhere. */
export function float32LittleEndianBytes(data: Float32Array): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_LITTLE_ENDIAN) return view;
  const copy = new Uint8Array(view);
  swapBytes(copy, 4);
  return copy;
}

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}
