// Our readers against files NumPy wrote, and NumPy reading the files we write. NumPy is the independent
// implementation here; without it these tests are skipped (CI installs python3-numpy).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeNpy, loadWeights, readNpy, readNpz, saveNpy, WeightsErrorCodes } from '../lib/io';
import { Tensor } from '../lib/tensor';
import { seededFloats } from './reference';
import { bits, expectWeightsError, makeTempDir, NO_NUMPY_REASON, numpyAvailable, runPython } from './weights-helpers';

// Every array is also written as C-order '<f4' bytes (`<name>.expected`) and its shape as JSON, so the
// comparison is bit-exact against NumPy's own conversion to float32.
const GENERATOR = String.raw`
import json, numpy as np
from numpy.lib import format as fmt
base = (np.arange(24) * 0.75 - 7).reshape(2, 3, 4)
arrays = {
  'f4': base.astype('<f4'),
  'be_f4': base.astype('>f4'),
  'f2': base.astype('<f2'),
  'be_f2': base.astype('>f2'),
  'f2_special': np.array([0, -0.0, 1, 65504, 2**-24, 2**-14 * 0.5, np.inf, -np.inf, np.nan, 1/3], '<f2'),
  'f8': (np.arange(24) / 3 - 2).reshape(4, 6).astype('<f8'),
  'be_f8': (np.arange(12) / 7).reshape(3, 4).astype('>f8'),
  'fortran': np.asfortranarray(base.astype('<f4')),
  'fortran_2d_f8': np.asfortranarray((np.arange(35) / 9).reshape(5, 7)),
  'fortran_4d': np.asfortranarray(np.arange(120, dtype='<f4').reshape(2, 3, 4, 5)),
  'scalar': np.array(3.5, '<f4'),
  'empty': np.zeros((0, 3), '<f4'),
  'vector': np.arange(5, dtype='<f4'),
}
for name, array in arrays.items():
  np.save(name + '.npy', array)
  open(name + '.expected', 'wb').write(np.ascontiguousarray(array, dtype='<f4').tobytes())
  json.dump(list(array.shape), open(name + '.shape', 'w'))
for version in [(2, 0), (3, 0)]:
  with open('v%d.npy' % version[0], 'wb') as f:
    fmt.write_array(f, base.astype('<f4'), version=version)
np.savez('plain.npz', a=arrays['f4'], b=arrays['f8'], **{'layer.0.weight': arrays['fortran'], 'pöids': arrays['vector']})
np.savez_compressed('compressed.npz', a=arrays['f4'], b=arrays['f8'], **{'layer.0.weight': arrays['fortran'], 'pöids': arrays['vector']})
np.savez_compressed('empty.npz')
np.save('object.npy', np.array([{'a': 1}, None], dtype=object), allow_pickle=True)
np.savez('object.npz', ok=arrays['f4'], bad=np.array([None, 1], dtype=object))
np.save('int.npy', np.arange(4, dtype='<i8'))
np.save('structured.npy', np.zeros(2, dtype=[('x', '<f4'), ('y', '<f4')]))
`;

const NAMES = [
  'f4', 'be_f4', 'f2', 'be_f2', 'f2_special', 'f8', 'be_f8', 'fortran', 'fortran_2d_f8', 'fortran_4d',
  'scalar', 'empty', 'vector',
];

let dir = '';

function expected(name: string): { data: Float32Array; shape: number[] } {
  const raw = fs.readFileSync(path.join(dir, `${name}.expected`));
  const data = new Float32Array(raw.length / 4);
  new Uint8Array(data.buffer).set(raw);
  return { data, shape: JSON.parse(fs.readFileSync(path.join(dir, `${name}.shape`), 'utf8')) as number[] };
}

function expectSameTensor(actual: Tensor, wanted: { data: Float32Array; shape: number[] }): void {
  expect(actual.shape).toEqual(wanted.shape);
  expect(bits(actual.data)).toEqual(bits(wanted.data));
}

const title = numpyAvailable ? 'files written and read by NumPy' : `files written and read by NumPy (skipped: ${NO_NUMPY_REASON})`;

describe.skipIf(!numpyAvailable)(title, () => {
  beforeAll(() => {
    dir = makeTempDir();
    runPython(GENERATOR, dir);
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each(NAMES)('reads %s.npy exactly as NumPy converts it to float32', (name) => {
    const file = path.join(dir, `${name}.npy`);
    expectSameTensor(readNpy(fs.readFileSync(file), file), expected(name));
    const store = loadWeights(file);
    expect(store.format).toBe('npy');
    expect(store.names).toEqual([name]);
    expectSameTensor(store.tensor(name), expected(name));
  });

  it('reports the dtype as the file spells it', () => {
    expect(loadWeights(path.join(dir, 'be_f2.npy')).info('be_f2')).toEqual({ dtype: '>f2', shape: [2, 3, 4] });
  });

  it.each(['v2', 'v3'])('reads format version %s', (name) => {
    const tensor = readNpy(fs.readFileSync(path.join(dir, `${name}.npy`)));
    expectSameTensor(tensor, expected('f4'));
  });

  it.each(['plain', 'compressed'])('reads %s.npz with every member', (name) => {
    const store = readNpz(fs.readFileSync(path.join(dir, `${name}.npz`)), name);
    expect(store.format).toBe('npz');
    expect([...store.names].sort()).toEqual(['a', 'b', 'layer.0.weight', 'pöids']);
    expectSameTensor(store.tensor('a'), expected('f4'));
    expectSameTensor(store.tensor('b'), expected('f8'));
    expectSameTensor(store.tensor('layer.0.weight'), expected('fortran'));
    expectSameTensor(store.tensor('pöids'), expected('vector'));
    expect(loadWeights(path.join(dir, `${name}.npz`)).names).toEqual(store.names);
  });

  it('reads an empty .npz', () => {
    expect(loadWeights(path.join(dir, 'empty.npz')).names).toEqual([]);
  });

  it('refuses object arrays (pickles), integers and structured dtypes', () => {
    expectWeightsError(() => readNpy(fs.readFileSync(path.join(dir, 'object.npy'))), WeightsErrorCodes.DTYPE);
    const error = expectWeightsError(() => loadWeights(path.join(dir, 'object.npz')), WeightsErrorCodes.DTYPE);
    expect(error.tensor).toBe('bad');
    expectWeightsError(() => loadWeights(path.join(dir, 'int.npy')), WeightsErrorCodes.DTYPE);
    expectWeightsError(() => loadWeights(path.join(dir, 'structured.npy')), WeightsErrorCodes.DTYPE);
  });

  it('writes .npy files NumPy reads back bit-exactly, with its own alignment rule', () => {
    const cases: Tensor[] = [
      new Tensor(seededFloats(2 * 3 * 5, 7), [2, 3, 5]),
      new Tensor(Float32Array.of(-0, NaN, Infinity, 1e-45), [4]),
      new Tensor(Float32Array.of(2.5), []),
      new Tensor(new Float32Array(0), [3, 0]),
    ];
    cases.forEach((tensor, index) => saveNpy(path.join(dir, `ours${index}.npy`), tensor));
    const report = runPython(
      String.raw`
import json, numpy as np
out = []
for i in range(${cases.length}):
  a = np.load('ours%d.npy' % i)
  raw = open('ours%d.npy' % i, 'rb').read()
  hlen = int.from_bytes(raw[8:10], 'little')
  out.append({'shape': list(a.shape), 'dtype': a.dtype.str, 'c': bool(a.flags.c_contiguous),
              'bits': a.view('<u4').ravel().tolist(), 'aligned': (10 + hlen) % 64 == 0})
print(json.dumps(out))`,
      dir,
    );
    const loaded = JSON.parse(report) as { shape: number[]; dtype: string; c: boolean; bits: number[]; aligned: boolean }[];
    loaded.forEach((array, index) => {
      expect(array).toEqual({ shape: [...cases[index].shape], dtype: '<f4', c: true, bits: bits(cases[index].data), aligned: true });
    });
    expect(encodeNpy(cases[0])).toEqual(new Uint8Array(fs.readFileSync(path.join(dir, 'ours0.npy'))));
  });
});
