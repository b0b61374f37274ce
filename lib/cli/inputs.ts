// Inputs of `extract`: .npy/.npz files, or folders of them, read one file at a time and grouped into
// batches of same-shaped items, so that memory holds one batch whatever the size of the input set.
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';

import { loadWeights, type WeightStore } from '../io';
import { allocateFloats } from '../tensor';

export interface InputArray {
  file: string;
  name: string;
  /** Per item: [C, H, W]. */
  itemShape: number[];
  items: number;
}

export interface Batch {
  data: Float32Array;
  shape: number[];  // [N, C, H, W]
}

export class InputError extends Error {}

/** The files named on the command line, folders expanded to their .npy/.npz files in name order. */
export function listInputFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const given of paths) {
    let isFolder: boolean;
    try {
      isFolder = statSync(given).isDirectory();
    } catch (error) {
      throw new InputError(`input ${given}: ${(error as Error).message}`);
    }
    if (!isFolder) {
      files.push(given);
      continue;
    }
    const entries = readdirSync(given)
      .filter((entry) => /\.(npy|npz)$/i.test(entry))
      .sort();
    if (entries.length === 0) throw new InputError(`input folder ${given} holds no .npy or .npz files`);
    files.push(...entries.map((entry) => path.join(given, entry)));
  }
  return files;
}

function describeArrays(store: WeightStore, channels: number | undefined): InputArray[] {
  return store.names.map((name) => {
    const shape = store.info(name).shape;
    const itemShape = shape.length === 4 ? shape.slice(1) : shape.length === 3 ? [...shape] : null;
    const where = store.format === 'npz' ? `${store.source} [${name}]` : store.source;
    if (!itemShape) {
      throw new InputError(`${where}: shape [${shape.join(', ')}] is neither one input [C, H, W] nor a batch [N, C, H, W]`);
    }
    if (channels !== undefined && itemShape[0] !== channels) {
      throw new InputError(`${where}: ${itemShape[0]} channels but the model expects ${channels}`);
    }
    return { file: store.source, name, itemShape, items: shape.length === 4 ? shape[0] : 1 };
  });
}

/**
 * Reads every file once to count its items and check their shapes before any work starts (tensors
 * are decoded lazily, so this reads and validates but does not convert); each file is read again when
 * its batch runs. Memory holds one file at a time.
 */
export function scanInputs(files: readonly string[], channels: number | undefined): InputArray[] {
  return files.flatMap((file) => describeArrays(loadWeights(file), channels));
}

/** Batches of up to `batchSize` consecutive items of equal shape, one input file open at a time. */
export function* readBatches(arrays: readonly InputArray[], batchSize: number): Generator<Batch> {
  let pending: { shape: number[]; parts: Float32Array[]; items: number } | null = null;
  const flush = (): Batch | null => {
    if (!pending || pending.items === 0) return null;
    const [c, h, w] = pending.shape;
    const data = pending.parts.length === 1 ? pending.parts[0] : allocateFloats(pending.items * c * h * w);
    if (pending.parts.length > 1) {
      let offset = 0;
      for (const part of pending.parts) {
        data.set(part, offset);
        offset += part.length;
      }
    }
    const batch = { data, shape: [pending.items, c, h, w] };
    pending = null;
    return batch;
  };
  let store: WeightStore | null = null;
  for (const array of arrays) {
    if (!store || store.source !== array.file) store = loadWeights(array.file);
    const all = store.tensor(array.name).data;
    const itemSize = array.itemShape.reduce((a, b) => a * b, 1);
    for (let first = 0; first < array.items; ) {
      if (pending && pending.shape.join() !== array.itemShape.join()) {
        const batch = flush();
        if (batch) yield batch;
      }
      pending ??= { shape: array.itemShape, parts: [], items: 0 };
      const take = Math.min(batchSize - pending.items, array.items - first);
      pending.parts.push(all.subarray(first * itemSize, (first + take) * itemSize));
      pending.items += take;
      first += take;
      if (pending.items === batchSize) {
        const batch = flush();
        if (batch) yield batch;
      }
    }
  }
  const last = flush();
  if (last) yield last;
}

/**
 * Inputs for the demo: `count` items of [channels, size, size] in batches. One batch of seeded values
 * is made up front and served again (generating values in JS would otherwise be timed as extraction).
 */
export function* generatedBatches(count: number, channels: number, size: number, batchSize: number): Generator<Batch> {
  const itemSize = channels * size * size;
  const values = allocateFloats(Math.min(batchSize, count) * itemSize);
  let state = 12345;
  for (let i = 0; i < values.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = state / 2 ** 31 - 1;
  }
  for (let first = 0; first < count; first += batchSize) {
    const items = Math.min(batchSize, count - first);
    yield { data: values.subarray(0, items * itemSize), shape: [items, channels, size, size] };
  }
}
