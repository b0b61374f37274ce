// What every reader returns: named tensors, validated when the file is read, converted to float32 on
// first access and cached. Lookups that fail name the closest names the file does have.
import { describe, ErrorCodes, typeError } from '../errors';
import { elementCount, readShape, Tensor } from '../tensor';
import { quoteName, weightsError, WeightsErrorCodes } from './weights-error';

export type WeightFormat = 'safetensors' | 'npy' | 'npz';

export interface TensorInfo {
  /** The dtype as the file spells it: 'F32', 'BF16' (safetensors), '<f4', '>f2' (.npy). */
  dtype: string;
  shape: number[];
}

export interface WeightStore {
  /** The path the weights were read from, or "<bytes>". */
  readonly source: string;
  readonly format: WeightFormat;
  /** Tensor names in file order. */
  readonly names: readonly string[];
  /** safetensors' `__metadata__`; empty for .npy and .npz. */
  readonly metadata: Readonly<Record<string, string>>;
  has(name: string): boolean;
  info(name: string): TensorInfo;
  /**
   * The tensor as float32, in C (row-major) order. Aligned little-endian float32 data is a view over
   * the bytes the store was read from (no copy): writing to one writes to the other. Repeated calls
   * return the same Tensor. With `expectedShape`, a different shape throws ERR_WEIGHTS_SHAPE.
   */
  tensor(name: string, expectedShape?: readonly number[]): Tensor;
}

/** One validated tensor of a file; `decode` may only fail for want of memory. */
export interface StoreEntry {
  readonly dtype: string;
  readonly shape: readonly number[];
  decode(): Tensor;
}

export function createWeightStore(
  source: string,
  format: WeightFormat,
  entries: ReadonlyMap<string, StoreEntry>,
  metadata: ReadonlyMap<string, string> = new Map(),
): WeightStore {
  return new MapWeightStore(source, format, entries, metadata);
}

class MapWeightStore implements WeightStore {
  readonly names: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  private readonly cache = new Map<string, Tensor>();

  constructor(
    readonly source: string,
    readonly format: WeightFormat,
    private readonly entries: ReadonlyMap<string, StoreEntry>,
    metadata: ReadonlyMap<string, string>,
  ) {
    this.names = Object.freeze([...entries.keys()]);
    // No prototype: a key named "__proto__" or "constructor" is just a key.
    const record = Object.create(null) as Record<string, string>;
    for (const [key, value] of metadata) record[key] = value;
    this.metadata = Object.freeze(record);
  }

  has(name: string): boolean {
    return typeof name === 'string' && this.entries.has(name);
  }

  info(name: string): TensorInfo {
    const entry = this.lookup(name);
    return { dtype: entry.dtype, shape: [...entry.shape] };
  }

  tensor(name: string, expectedShape?: readonly number[]): Tensor {
    const entry = this.lookup(name);
    if (expectedShape !== undefined) {
      const expected = readShape(expectedShape, 'expectedShape');
      elementCount(expected, 'expectedShape');
      if (!sameShape(expected, entry.shape)) {
        throw weightsError(
          WeightsErrorCodes.SHAPE,
          { source: this.source, tensor: name },
          `expected shape [${expected.join(', ')}] but the file has [${entry.shape.join(', ')}]`,
        );
      }
    }
    let tensor = this.cache.get(name);
    if (tensor === undefined) {
      tensor = entry.decode();
      this.cache.set(name, tensor);
    }
    return tensor;
  }

  private lookup(name: string): StoreEntry {
    if (typeof name !== 'string') {
      throw typeError(
        ErrorCodes.INVALID_ARG_TYPE,
        `name must be a string but received ${describe(name)}`,
      );
    }
    const entry = this.entries.get(name);
    if (entry !== undefined) return entry;
    const closest = closestNames(name, this.names, 5);
    const hint = closest.length === 0
      ? 'the file holds no tensors'
      : `closest of ${this.names.length}: ${closest.map(quoteName).join(', ')}`;
    throw weightsError(
      WeightsErrorCodes.MISSING,
      { source: this.source, tensor: name },
      `no such tensor (${hint})`,
    );
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, index) => dim === b[index]);
}

// Names longer than this are compared by their first characters only: the suggestion is a hint, and a
// hostile file must not make an error message cost seconds.
const COMPARED_LENGTH = 64;

/** Up to `limit` names by increasing edit distance from `wanted` (ties in file order). */
export function closestNames(wanted: string, names: readonly string[], limit: number): string[] {
  const target = wanted.slice(0, COMPARED_LENGTH);
  const scored = names.map((name, index) => ({
    name,
    index,
    distance: editDistance(target, name.slice(0, COMPARED_LENGTH)),
  }));
  scored.sort((x, y) => x.distance - y.distance || x.index - y.index);
  return scored.slice(0, limit).map((entry) => entry.name);
}

/** Levenshtein distance, two rows. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let current = new Array<number>(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(substitution, previous[j] + 1, current[j - 1] + 1);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length];
}
