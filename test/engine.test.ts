// Which engine runs a convolution: the per-shape choice between BLAS and the builtin kernels, the
// tile shape of the builtin kernels, and CONV1X1_ISA, which forces a lower instruction set.
import { afterAll, describe, expect, it } from 'vitest';

import { backend, Conv1x1, conv1x1, setEngine, Tensor } from '../lib/index';
import { availableBackends, selectBackend } from '../lib/internal';
import { requireBuiltPackage, runJson, DIST_ENTRY } from './package-helpers';
import { expectClose, referenceConv, seededFloats, type RefCase } from './reference';

const info = backend();
const hasBlas = availableBackends().includes('blas');
const VECTOR_KERNELS = ['avx512f', 'avx2+fma', 'neon'];

function layer(inChannels: number, outChannels: number, layout: 'nchw' | 'nhwc' = 'nchw'): Conv1x1 {
  return new Conv1x1({
    inChannels,
    outChannels,
    weight: new Tensor(seededFloats(inChannels * outChannels, 3), [outChannels, inChannels]),
    layout,
  });
}

afterAll(() => selectBackend(hasBlas ? 'auto' : 'builtin'));


describe('engine choice', () => {
  it('reports the builtin kernels and the selection', () => {
    expect(typeof info.kernels).toBe('string');
    expect(['avx512f', 'avx2+fma', 'neon', 'scalar']).toContain(info.kernels);
    if (!process.env.CONV1X1_ISA) {
      expect(info.kernelsNote).toBeNull();
      expect(info.kernels).toBe(info.simd === 'sse2' ? 'scalar' : info.simd);
    }
    // With a BLAS the default is the per-shape choice; without one, the builtin kernels.
    expect(info.selection).toBe(hasBlas ? 'auto' : 'builtin');
  });

  it('names the builtin kernels and their tile shape per input shape', () => {
    selectBackend('builtin');
    const prefix = `builtin ${info.kernels}`;
    // Few pixels: vectors along the output channels; many pixels: along the pixels.
    expect(layer(64, 512).backend([1, 64, 7, 7])).toBe(`${prefix} (channel tiles)`);
    expect(layer(64, 256).backend([1, 64, 56, 56])).toBe(`${prefix} (pixel tiles)`);
    // NHWC reads channels contiguously: always channel tiles.
    expect(layer(64, 256, 'nhwc').backend([1, 56, 56, 64])).toBe(`${prefix} (channel tiles)`);
  });

  it.runIf(hasBlas)('follows a forced BLAS, and picks per shape in auto', () => {
    selectBackend('blas');
    expect(layer(64, 256).backend([1, 64, 56, 56])).toBe(backend().name);
    selectBackend('auto');
    const auto = layer(64, 256).backend([1, 64, 56, 56]);
    if (VECTOR_KERNELS.includes(info.kernels)) {
      expect(auto).toBe(`builtin ${info.kernels} (pixel tiles)`);
    } else {
      expect(auto).toBe(backend().name);
    }
  });

  it('checks the shape it is asked about', () => {
    const l = layer(8, 4);
    expect(() => l.backend([1, 8, 7])).toThrow(/inputShape must have 4 dimensions/);
    expect(() => l.backend([1, 9, 7, 7])).toThrow(/inputShape\.shape\[1\] is 9 but the Conv1x1 layer expects 8 input channels/);
    expect(() => l.backend([1, 8, -1, 7])).toThrow(/inputShape\[2\] must be an integer/);
  });

  it.each(['auto', 'blas', 'builtin'] as const)('gives the same results whichever engine (%s)', (kind) => {
    if (kind !== 'builtin' && !hasBlas) return;
    selectBackend(kind);
    const c: RefCase = { batch: 2, inChannels: 40, outChannels: 33, height: 9, width: 11, activation: 'relu' };
    const input = seededFloats(2 * 40 * 9 * 11, 11);
    const weight = seededFloats(33 * 40, 12);
    const bias = seededFloats(33, 13);
    const y = conv1x1(new Tensor(input, [2, 40, 9, 11]), new Tensor(weight, [33, 40]), { bias: new Tensor(bias, [33]), activation: 'relu' });
    expectClose(y.data, referenceConv(c, input, weight, bias), `${kind}: 40→33 on 9×11`);
  });
});

describe('forcing an engine', () => {
  it('setEngine switches the whole process, and checks its argument', () => {
    setEngine('builtin');
    expect(backend().selection).toBe('builtin');
    expect(layer(64, 256).backend([1, 64, 56, 56])).toMatch(/^builtin /);
    expect(() => setEngine('gpu' as never)).toThrow(/engine must be 'auto', 'blas' or 'builtin' but received/);
    if (hasBlas) {
      setEngine('blas');
      expect(backend().selection).toBe('blas');
      expect(layer(64, 256).backend([1, 64, 56, 56])).toBe(backend().name);
      setEngine('auto');
      expect(backend().selection).toBe('auto');
    } else {
      expect(() => setEngine('blas')).toThrow(/needs a BLAS library and none is loaded/);
      expect(backend().selection).toBe('builtin');
    }
  });

  it('CONV1X1_ENGINE picks the engine at startup, and says why when it cannot', () => {
    requireBuiltPackage();
    const read = (value: string) =>
      runJson(`const b = require(${JSON.stringify(DIST_ENTRY)}).backend(); console.log(JSON.stringify({ selection: b.selection, note: b.engineNote }));`,
        { CONV1X1_ENGINE: value }) as { selection: string; note: string | null };
    expect(read('builtin')).toEqual({ selection: 'builtin', note: null });
    expect(read('turbo').note).toBe('CONV1X1_ENGINE=turbo ignored: not one of auto, blas, builtin');
    if (hasBlas) {
      expect(read('blas')).toEqual({ selection: 'blas', note: null });
    } else {
      expect(read('blas')).toEqual({ selection: 'builtin', note: 'CONV1X1_ENGINE=blas ignored: no BLAS is loaded' });
    }
  });
});

describe('CONV1X1_ISA', () => {
  requireBuiltPackage();
  const probe = (isa: string) =>
    runJson(
      `const c = require(${JSON.stringify(DIST_ENTRY)});
       const w = new c.Tensor(new Float32Array(24 * 20).map((_, i) => Math.sin(i)), [20, 24]);
       const l = new c.Conv1x1({ inChannels: 24, outChannels: 20, weight: w, activation: 'gelu' });
       const x = new c.Tensor(new Float32Array(24 * 50).map((_, i) => Math.cos(i)), [1, 24, 5, 10]);
       const info = c.backend();
       console.log(JSON.stringify({ kernels: info.kernels, note: info.kernelsNote, engine: (require(${JSON.stringify(DIST_ENTRY.replace('index.js', 'internal.js'))}).selectBackend('builtin'), l.backend([1, 24, 5, 10])), y: Array.from(l.forward(x).data) }));`,
      { CONV1X1_ISA: isa },
    ) as { kernels: string; note: string | null; engine: string; y: number[] };

  // The same layer in a child per level; each result against the float64 reference.
  const input = new Float32Array(24 * 50).map((_, i) => Math.cos(i));
  const weight = new Float32Array(24 * 20).map((_, i) => Math.sin(i));
  const reference = referenceConv({ batch: 1, inChannels: 24, outChannels: 20, height: 5, width: 10, activation: 'gelu' }, input, weight, null);

  it('forces the portable kernels with scalar, and they agree with the reference', () => {
    const run = probe('scalar');
    expect(run.kernels).toBe('scalar');
    expect(run.engine.startsWith('builtin scalar')).toBe(true);
    if (info.simd !== 'scalar' && info.simd !== 'sse2') expect(run.note).toMatch(/CONV1X1_ISA=scalar/);
    expectClose(Float32Array.from(run.y), reference, 'CONV1X1_ISA=scalar');
  });

  it.runIf(info.simd === 'avx512f' || info.simd === 'avx2+fma')('forces AVX2 on a CPU that has it', () => {
    const run = probe('avx2');
    expect(run.kernels).toBe('avx2+fma');
    expectClose(Float32Array.from(run.y), reference, 'CONV1X1_ISA=avx2');
  });

  it('ignores an unknown level, or one the CPU lacks, and says why', () => {
    const unknown = probe('sse9');
    expect(unknown.kernels).toBe(info.simd === 'sse2' ? 'scalar' : info.simd);
    expect(unknown.note).toMatch(/CONV1X1_ISA=sse9 is not one of avx512, avx2, neon, scalar: ignored/);
    if (info.simd !== 'avx512f') {
      const beyond = probe('avx512');
      expect(beyond.note).toMatch(/beyond what this CPU supports/);
    }
    expectClose(Float32Array.from(unknown.y), reference, 'CONV1X1_ISA=sse9');
  });
});
