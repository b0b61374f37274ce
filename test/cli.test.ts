// The `conv1x1` command end to end, as a user runs it: real files in, real files out, exit codes.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadModel, readNpy, saveNpy, loadWeights, Tensor } from '../lib/index';
import { EMBEDDED_SPEC, EMBEDDED_WEIGHTS } from '../lib/model/embedded';
import { requireBuiltPackage, ROOT, runNode } from './package-helpers';
import { seededFloats } from './reference';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const dir = mkdtempSync(path.join(tmpdir(), 'conv1x1-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => runNode([CLI, ...args]);

// Inputs of mixed forms: single [32, H, W] arrays, a [3, 32, H, W] batch, another spatial size.
const inputs = path.join(dir, 'inputs');
const items: Float32Array[] = [];
const itemShapes: number[][] = [];
beforeAll(() => {
  requireBuiltPackage();
  mkdirSync(inputs);
  for (let i = 0; i < 5; i++) {
    const data = seededFloats(32 * 12 * 12, 10 + i);
    saveNpy(path.join(inputs, `a${i}.npy`), { data, shape: [32, 12, 12] });
    items.push(data);
    itemShapes.push([32, 12, 12]);
  }
  const batch = seededFloats(3 * 32 * 9 * 7, 99);
  saveNpy(path.join(inputs, 'b-batch.npy'), { data: batch, shape: [3, 32, 9, 7] });
  for (let i = 0; i < 3; i++) {
    items.push(batch.subarray(i * 32 * 63, (i + 1) * 32 * 63));
    itemShapes.push([32, 9, 7]);
  }
  writeFileSync(path.join(inputs, 'notes.txt'), 'ignored: not .npy/.npz');
});

describe('conv1x1 info', () => {
  it('prints version, backend, library, SIMD level and threads', () => {
    const run = cli('info');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^conv1x1\s+\d+\.\d+\.\d+/m);
    expect(run.stdout).toMatch(/^backend\s+(openblas|builtin|\w+)/m);
    expect(run.stdout).toMatch(/^simd\s+\S+/m);
    expect(run.stdout).toMatch(/^threads\s+\d+ per call/m);
  });
});

describe('conv1x1 extract', () => {
  it('runs the embedded model over a folder, writing exactly what the model computes in-process', () => {
    const out = path.join(dir, 'features.npy');
    const run = cli('extract', '--input', inputs, '--out', out, '--batch', '4');
    expect(run.stderr).toMatch(/extract: 8\/8 items/);
    expect(run.stdout).toMatch(/extract: 8 inputs in [\d.]+ s: [\d.]+ inputs\/s, [\d.]+ GFLOP\/s; features \[8, 256\] written to/);
    expect(run.status).toBe(0);
    const features = readNpy(new Uint8Array(require('node:fs').readFileSync(out)));
    expect(features.shape).toEqual([8, 256]);
    const model = loadModel(EMBEDDED_SPEC, EMBEDDED_WEIGHTS);
    items.forEach((data, i) => {
      const expected = model.forward(new Tensor(new Float32Array(data), [1, ...itemShapes[i]])).data;
      const row = features.data.subarray(i * 256, (i + 1) * 256);
      // Same code, same backend: batching changes no arithmetic per item.
      expect(Array.from(row)).toEqual(Array.from(expected));
    });
    expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('writes .safetensors too, and runs on generated inputs without --input', () => {
    const out = path.join(dir, 'features.safetensors');
    const run = cli('extract', '--items', '10', '--size', '8', '--batch', '3', '--out', out);
    expect(run.status).toBe(0);
    const store = loadWeights(out);
    expect(store.info('features').shape).toEqual([10, 256]);
  });

  it('runs a model given by --model and --weights', () => {
    const run = cli('extract', '--model', EMBEDDED_SPEC, '--weights', EMBEDDED_WEIGHTS, '--input', path.join(inputs, 'a0.npy'));
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/features \[1, 256\] \(no --out: not written\)/);
  });

  it.each([
    [['extract', '--batch', '0'], /--batch must be a positive integer/],
    [['extract', '--model', EMBEDDED_SPEC], /--model and --weights go together/],
    [['extract', '--unknown'], /Unknown option/],
    [['extract', '--out', 'features.csv', '--items', '1'], /must end in \.npy or \.safetensors/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('exits 2 on bad arguments: %j', (args, message) => {
    const run = cli(...(args as string[]));
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('exits 1 with a clear message on unreadable inputs, bad files and shape mismatches', () => {
    const missing = cli('extract', '--input', path.join(dir, 'nope.npy'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/nope\.npy/);
    const bad = path.join(dir, 'bad.npy');
    writeFileSync(bad, '\x93NUMPY garbage');
    const corrupt = cli('extract', '--input', bad);
    expect(corrupt.status).toBe(1);
    expect(corrupt.stderr).toMatch(/bad\.npy/);
    const wrong = path.join(dir, 'wrong.npy');
    saveNpy(wrong, { data: new Float32Array(16 * 4 * 4), shape: [16, 4, 4] });
    const mismatch = cli('extract', '--input', wrong);
    expect(mismatch.status).toBe(1);
    expect(mismatch.stderr).toMatch(/wrong\.npy: 16 channels but the model expects 32/);
    for (const run of [missing, corrupt, mismatch]) expect(run.stderr).not.toMatch(/\n\s+at /);  // no stack trace
  });

  it('refuses, before any work, inputs whose shapes would give rows of different widths', () => {
    const spec = path.join(dir, 'flatten.json');
    writeFileSync(spec, JSON.stringify({ inputChannels: 32, layers: [
      { type: 'depthwise', weights: 'features.0.conv.0.0', padding: 1 },
      { type: 'flatten' },
    ] }));
    const out = path.join(dir, 'never.npy');
    const run = cli('extract', '--model', spec, '--weights', EMBEDDED_WEIGHTS, '--input', inputs, '--out', out);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/give \d+ features but others give \d+/);
    expect(existsSync(out) || existsSync(`${out}.partial`)).toBe(false);
  });

  it('stops cleanly on Ctrl-C: exit 130 and no output file, complete or partial', async () => {
    const out = path.join(dir, 'interrupted.npy');
    const child = spawn(process.execPath, [CLI, 'extract', '--items', '100000', '--size', '16', '--batch', '8', '--out', out], { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const started = Date.now();
    while (!existsSync(`${out}.partial`) && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted after \d+ inputs; no output written/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });
});
