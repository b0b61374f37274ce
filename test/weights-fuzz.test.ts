// Mutation fuzzing of valid files: byte flips, truncation, insertion, rewritten length fields and
// rewritten numbers in the header text (with the length fixed up, so the mutation reaches the offset and
// shape checks). Property: every outcome is a store whose tensors can all be read, or a WeightsError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  encodeNpy,
  encodeSafetensors,
  loadWeights,
  readNpy,
  readNpz,
  readSafetensors,
  WeightsError,
  type WeightStore,
} from '../lib/io';
import { Tensor } from '../lib/tensor';
import { seededFloats } from './reference';
import { concat, f32Bytes, npyBytes, safetensorsBytes, tensorEntry, zipBytes } from './weights-helpers';

const RUNS = 300;

type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'length'; which: number; value: bigint }
  | { kind: 'number'; which: number; text: string; fixLength: boolean };

const numberText = fc.oneof(
  fc.nat({ max: 64 }).map(String),
  fc.nat().map(String),
  fc.constantFrom('-1', '-0', '1.5', '1e3', '', '00', '4294967296', '9007199254740993', '18446744073709551616', '2147483648'),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({
    kind: fc.constant('length' as const),
    which: fc.nat(),
    value: fc.oneof(fc.bigInt({ min: 0n, max: 300n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
  }),
  fc.record({ kind: fc.constant('number' as const), which: fc.nat(), text: numberText, fixLength: fc.boolean() }),
);

/** Where a format keeps its header length and header text, so that 'length' and 'number' can target them. */
interface Layout {
  lengthField(bytes: Uint8Array, which: number): { at: number; size: 2 | 4 | 8 } | undefined;
  header(bytes: Uint8Array): { start: number; end: number } | undefined;
}

const safetensorsLayout: Layout = {
  lengthField: (bytes) => (bytes.length >= 8 ? { at: 0, size: 8 } : undefined),
  header: (bytes) => {
    if (bytes.length < 8) return undefined;
    const length = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
    return length <= BigInt(bytes.length - 8) ? { start: 8, end: 8 + Number(length) } : undefined;
  },
};

const npyLayout: Layout = {
  lengthField: (bytes) => (bytes.length >= 12 ? { at: 8, size: bytes[6] === 1 ? 2 : 4 } : undefined),
  header: (bytes) => {
    if (bytes.length < 12) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, 12);
    const start = bytes[6] === 1 ? 10 : 12;
    const length = bytes[6] === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
    return start + length <= bytes.length ? { start, end: start + length } : undefined;
  },
};

function writeLength(bytes: Uint8Array, field: { at: number; size: 2 | 4 | 8 }, value: bigint): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (field.size === 8) view.setBigUint64(field.at, BigInt.asUintN(64, value), true);
  else if (field.size === 4) view.setUint32(field.at, Number(BigInt.asUintN(32, value)), true);
  else view.setUint16(field.at, Number(BigInt.asUintN(16, value)), true);
}

function mutate(original: Uint8Array, mutations: readonly Mutation[], layout: Layout): Uint8Array {
  let bytes: Uint8Array = new Uint8Array(original);
  for (const m of mutations) {
    if (m.kind === 'flip') {
      if (bytes.length > 0) bytes[m.at % bytes.length] ^= m.xor;
    } else if (m.kind === 'truncate') {
      bytes = bytes.slice(0, m.at % (bytes.length + 1));
    } else if (m.kind === 'insert') {
      const at = m.at % (bytes.length + 1);
      bytes = concat(bytes.subarray(0, at), m.bytes, bytes.subarray(at));
    } else if (m.kind === 'length') {
      const field = layout.lengthField(bytes, m.which);
      if (field) writeLength(bytes, field, m.value);
    } else {
      const region = layout.header(bytes);
      if (!region) continue;
      const text = Buffer.from(bytes.subarray(region.start, region.end)).toString('latin1');
      const runs = [...text.matchAll(/\d+/g)];
      if (runs.length === 0) continue;
      const run = runs[m.which % runs.length];
      const replaced = text.slice(0, run.index) + m.text + text.slice(run.index! + run[0].length);
      const header = Buffer.from(replaced, 'latin1');
      bytes = concat(bytes.subarray(0, region.start), header, bytes.subarray(region.end));
      const field = layout.lengthField(bytes, 0);
      if (m.fixLength && field) writeLength(bytes, field, BigInt(header.length));
    }
  }
  return bytes;
}

/** The property: a WeightsError, or a store whose every tensor reads with data matching its shape. */
function exercise(read: () => WeightStore | Tensor): string {
  let result: WeightStore | Tensor;
  try {
    result = read();
    const tensors = result instanceof Tensor ? [result] : result.names.map((name) => (result as WeightStore).tensor(name));
    for (const tensor of tensors) {
      expect(tensor.data).toBeInstanceOf(Float32Array);
      expect(tensor.data.length).toBe(tensor.shape.reduce((product, dim) => product * dim, 1));
    }
    return 'loaded';
  } catch (error) {
    if (error instanceof WeightsError) return error.code;
    throw error;
  }
}

function tally(outcomes: Record<string, number>, outcome: string): void {
  outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
}

/** Loads and at least `codes` distinct rejection codes: the mutations reach more than the first check. */
function expectVariety(outcomes: Record<string, number>, codes: number): void {
  expect(outcomes.loaded ?? 0).toBeGreaterThan(0);
  expect(Object.keys(outcomes).filter((key) => key !== 'loaded').length).toBeGreaterThanOrEqual(codes);
}

function fuzz(
  seeds: readonly Uint8Array[],
  layout: Layout,
  read: (bytes: Uint8Array) => WeightStore | Tensor,
  seed: number,
): Record<string, number> {
  const outcomes: Record<string, number> = {};
  fc.assert(
    fc.property(
      fc.nat({ max: seeds.length - 1 }),
      fc.array(mutation, { minLength: 1, maxLength: 3 }),
      (index, mutations) => {
        const bytes = mutate(seeds[index], mutations, layout);
        tally(outcomes, exercise(() => read(bytes)));
        tally(outcomes, exercise(() => loadWeights(bytes)));
      },
    ),
    { seed, numRuns: RUNS },
  );
  return outcomes;
}

// --- seed files --------------------------------------------------------------------------------------
const safetensorsSeeds = [
  encodeSafetensors(
    {
      'conv.weight': new Tensor(seededFloats(4 * 3, 1), [4, 3, 1, 1]),
      'conv.bias': new Tensor(seededFloats(4, 2), [4]),
      scalar: new Tensor(Float32Array.of(1), []),
      empty: new Tensor(new Float32Array(0), [0, 2]),
    },
    { format: 'pt' },
  ),
  safetensorsBytes(
    `{"__metadata__":{"a":"b"},${tensorEntry('h', 'F16', [2, 2], 0, 8)},${tensorEntry('b', 'BF16', [2], 8, 12)},` +
      `${tensorEntry('d', 'F64', [2], 12, 28)}}`,
    concat(Uint8Array.of(0, 0x3c, 0, 0xc0, 1, 0, 0, 0x7c, 0xc0, 0x3f, 0x80, 0xbf), new Uint8Array(Float64Array.of(0.1, -3).buffer)),
  ),
  safetensorsBytes(`{${tensorEntry('u', 'F32', [3], 0, 12)}} `, f32Bytes([1, 2, 3])),  // unaligned data
];

const npySeeds = [
  encodeNpy(new Tensor(seededFloats(2 * 3 * 4, 3), [2, 3, 4])),
  encodeNpy(new Tensor(Float32Array.of(5), [])),
  npyBytes("{'descr': '<f8', 'fortran_order': True, 'shape': (3, 2), }", new Uint8Array(Float64Array.of(1, 2, 3, 4, 5, 6).buffer)),
  npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", Uint8Array.of(0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0), { major: 2 }),
  npyBytes("{'descr': '<f2', 'fortran_order': True, 'shape': (2, 1, 2), }", Uint8Array.of(0, 0x3c, 0, 0x40, 0, 0x42, 0, 0x44), { major: 3 }),
];

const npzMembers = [
  { name: 'w.npy', data: npySeeds[0] },
  { name: 's.npy', data: npySeeds[1], method: 8 },
  { name: 'f.npy', data: npySeeds[2], method: 8 },
];
const npzSeeds = [zipBytes(npzMembers), zipBytes([npzMembers[2]]), zipBytes([])];

// Zip fields that hold counts, lengths and offsets: in the end record (entries, directory size and
// offset) and in the first central directory entry (compressed size, size, local header offset).
const npzLayout: Layout = {
  lengthField: (bytes, which) => {
    if (bytes.length < 22) return undefined;
    const end = bytes.length - 22;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const central = view.getUint32(end + 16, true);
    const fields = [
      { at: end + 10, size: 2 as const },
      { at: end + 12, size: 4 as const },
      { at: end + 16, size: 4 as const },
      ...[20, 24, 42].map((field) => ({ at: central + field, size: 4 as const })),
    ].filter((field) => field.at + field.size <= bytes.length);
    return fields[which % fields.length];
  },
  header: () => undefined,
};

describe('mutation fuzzing (fast-check, seeded)', () => {
  it(`safetensors: ${RUNS} mutated files load or throw WeightsError`, () => {
    const outcomes = fuzz(safetensorsSeeds, safetensorsLayout, readSafetensors, 0x5afe);
    console.log('safetensors fuzz outcomes (reader + loadWeights):', outcomes);
    expectVariety(outcomes, 6);
  }, 20_000);

  it(`npy: ${RUNS} mutated files load or throw WeightsError`, () => {
    const outcomes = fuzz(npySeeds, npyLayout, readNpy, 0x4e5059);
    console.log('npy fuzz outcomes (reader + loadWeights):', outcomes);
    expectVariety(outcomes, 5);
  }, 20_000);

  it(`npz: ${RUNS} mutated archives load or throw WeightsError`, () => {
    const outcomes = fuzz(npzSeeds, npzLayout, readNpz, 0x4e505a);
    console.log('npz fuzz outcomes (reader + loadWeights):', outcomes);
    expectVariety(outcomes, 5);
  }, 20_000);

  it(`npz: ${RUNS} archives of mutated .npy members (valid CRCs) load or throw WeightsError`, () => {
    const outcomes: Record<string, number> = {};
    fc.assert(
      fc.property(
        fc.array(fc.record({ seed: fc.nat({ max: npySeeds.length - 1 }), method: fc.constantFrom(0, 8) }), { minLength: 1, maxLength: 3 }),
        fc.array(mutation, { minLength: 1, maxLength: 2 }),
        fc.nat(),
        (members, mutations, victim) => {
          const entries = members.map((entry, index) => ({
            name: `m${index}.npy`,
            method: entry.method,
            data: index === victim % members.length ? mutate(npySeeds[entry.seed], mutations, npyLayout) : npySeeds[entry.seed],
          }));
          const bytes = zipBytes(entries);
          tally(outcomes, exercise(() => readNpz(bytes)));
        },
      ),
      { seed: 0x6e707a, numRuns: RUNS },
    );
    console.log('npz member fuzz outcomes:', outcomes);
    expectVariety(outcomes, 4);
  }, 20_000);
});
