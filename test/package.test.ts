// The package as users load it: `require` and `import` with types, and backend selection from the
// environment (OpenBLAS found at run time, CONV1X1_BLAS=none, a library that is missing, not a BLAS,
// or a 64-bit-integer build), each in a fresh process because the backend is chosen once per process.
import { existsSync } from 'node:fs';
import * as path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { findLibrary, requireBuiltPackage, ROOT, runJson, runNode } from './package-helpers';

const SMOKE = `
  const x = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [1, 3, 1, 2] };
  const w = { data: new Float32Array([1, 1, 1, 0, 1, -1]), shape: [2, 3] };
  const y = m.conv1x1(x, w, { bias: new Float32Array([0.5, 0]) });
  console.log(JSON.stringify({ backend: m.backend(), y: Array.from(y.data), shape: y.shape, names: Object.keys(m).sort() }));
`;
const REQUIRE_SMOKE = `const m = require('conv1x1');${SMOKE}`;
const EXPECTED_Y = [9.5, 12.5, -2, -2];
const PUBLIC_NAMES = [
  'Conv1x1', 'Conv1x1Error', 'DepthwiseConv2d', 'ErrorCodes', 'Flatten', 'GlobalAvgPool', 'Linear', 'Residual',
  'SeparableConv2d', 'Sequential', 'Tensor', 'WeightsError', 'WeightsErrorCodes', 'backend', 'buildModel', 'conv1x1', 'conv1x1Async',
  'createNpyWriter', 'encodeNpy', 'encodeSafetensors', 'fuseBatchNorm', 'loadModel', 'loadWeights', 'readNpy', 'readNpz',
  'readSafetensors', 'saveNpy', 'saveSafetensors', 'setEngine', 'setQueueLimits', 'setThreads',
];

beforeAll(requireBuiltPackage);

describe('loading', () => {
  it('works with require() and import, with the same public names', () => {
    const viaRequire = runJson(REQUIRE_SMOKE) as { y: number[]; names: string[] };
    expect(viaRequire.y).toEqual(EXPECTED_Y);
    expect(viaRequire.names).toEqual(PUBLIC_NAMES);
    const viaImport = runNode(['--input-type=module', '-e', `import * as m from 'conv1x1';${SMOKE}`]);
    expect(viaImport.stderr).toBe('');
    const parsed = JSON.parse(viaImport.stdout) as { y: number[]; names: string[] };
    expect(parsed.y).toEqual(EXPECTED_Y);
    expect(parsed.names).toEqual(PUBLIC_NAMES);
  });

  it('ships type declarations for both entry points', () => {
    for (const file of ['dist/index.d.ts', 'dist/index.d.mts', 'dist/layers/conv1x1.d.ts']) {
      expect(existsSync(path.join(ROOT, file)), file).toBe(true);
    }
  });
});

describe('backend selection', () => {
  const openblas = findLibrary('libopenblas.so.0');

  it.runIf(openblas)('uses the system OpenBLAS when installed, naming its path and version', () => {
    const { backend, y } = runJson(REQUIRE_SMOKE, { CONV1X1_BLAS: undefined }) as { backend: Record<string, unknown>; y: number[] };
    expect(backend.name).toBe('openblas');
    expect(String(backend.path)).toMatch(/libopenblas\.so\.0$/);
    expect(String(backend.version)).toMatch(/^OpenBLAS \d+\.\d+\.\d+/);
    expect(y).toEqual(EXPECTED_Y);
  });

  it.runIf(!openblas)('falls back to the builtin kernel when no BLAS is installed, and says why', () => {
    const { backend, y } = runJson(REQUIRE_SMOKE, { CONV1X1_BLAS: undefined }) as { backend: Record<string, unknown>; y: number[] };
    expect(backend.name).toBe('builtin');
    expect(String(backend.note)).toMatch(/no optimized CBLAS library found/);
    expect(y).toEqual(EXPECTED_Y);
  });

  it('uses the builtin kernel with CONV1X1_BLAS=none', () => {
    const { backend, y } = runJson(REQUIRE_SMOKE, { CONV1X1_BLAS: 'none' }) as { backend: Record<string, unknown>; y: number[] };
    expect(backend.name).toBe('builtin');
    expect(backend.path).toBeNull();
    expect(backend.available).toEqual(['builtin']);
    expect(y).toEqual(EXPECTED_Y);
  });

  it('honours CONV1X1_THREADS', () => {
    const { backend } = runJson(REQUIRE_SMOKE, { CONV1X1_THREADS: '1' }) as { backend: { threads: number; maxConcurrentCalls: number; cores: number } };
    expect(backend.threads).toBe(1);
    expect(backend.maxConcurrentCalls).toBe(backend.cores);
  });

  const failingLoad = (library: string) => runNode(['-e', `
    const m = require('conv1x1');
    const report = (f) => { try { f(); return 'no error'; } catch (e) { return { name: e.name, code: e.code, message: e.message }; } };
    const x = { data: new Float32Array(3), shape: [1, 3, 1, 1] }, w = { data: new Float32Array(3), shape: [1, 3] };
    m.conv1x1Async(x, w).then(() => 'no error', (e) => ({ name: e.name, code: e.code })).then((asyncResult) =>
      console.log(JSON.stringify({ backend: report(() => m.backend()), sync: report(() => m.conv1x1(x, w)), asyncResult })));
  `], { CONV1X1_BLAS: library });

  it.each([
    ['a library that does not exist', '/nonexistent/libopenblas.so.0', /could not be used/],
    ['a library that is not a BLAS', findLibrary('libz.so.1') ?? '/lib/x86_64-linux-gnu/libc.so.6', /no cblas_sgemm/],
  ])('refuses %s named by CONV1X1_BLAS, never falling back silently', (_, library, message) => {
    const run = failingLoad(library);
    expect(run.signal).toBeNull();
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as Record<string, { name: string; code: string; message: string }>;
    for (const key of ['backend', 'sync', 'asyncResult']) {
      expect(result[key].name, key).toBe('Conv1x1Error');
      expect(result[key].code, key).toBe('ERR_BLAS_LOAD');
    }
    expect(result.backend.message).toMatch(message);
  });

  const ilp64 = findLibrary('libopenblas64.so.0');
  it.runIf(ilp64)('refuses a 64-bit-integer OpenBLAS build', () => {
    const run = failingLoad(ilp64!);
    const result = JSON.parse(run.stdout) as Record<string, { code: string; message: string }>;
    expect(result.backend.code).toBe('ERR_BLAS_LOAD');
    expect(result.backend.message).toMatch(/64-bit-integer \(ILP64\)/);
  });

  it.runIf(openblas)('accepts an explicit path to a real BLAS', () => {
    const { backend } = runJson(REQUIRE_SMOKE, { CONV1X1_BLAS: openblas! }) as { backend: Record<string, unknown> };
    expect(backend.name).toBe('openblas');
  });
});
