// A shard's output without Redis: runShard in-process, what an attempt killed while writing leaves
// behind, and a rerun's output. No Redis is needed here.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadWeights, readNpy, saveNpy } from '../../lib/index';
import { loadExtractionModel, runShard, ScaleError, type ShardJob } from '../../lib/scale/index';
import { staleTemporaries, writeOutputAtomic } from '../../lib/scale/atomic-output';
import { seededFloats } from '../reference';
import { sha256File } from './helpers';

const dir = mkdtempSync(path.join(tmpdir(), 'conv1x1-scale-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const extraction = loadExtractionModel();

function inputFile(name: string, shape: number[], seed: number): string {
  const file = path.join(dir, name);
  saveNpy(file, { data: seededFloats(shape.reduce((a, b) => a * b, 1), seed), shape });
  return file;
}

describe('writeOutputAtomic', () => {
  it('removes what earlier attempts at the same output left, and nothing else', () => {
    const target = path.join(dir, 'out', 'shard-00001-of-00002.npy');
    const folder = path.dirname(target);
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, '.shard-00001-of-00002.npy.otherhost-123-abcd1234.tmp'), 'half a file');
    writeFileSync(path.join(folder, '.shard-00000-of-00002.npy.otherhost-123-abcd1234.tmp'), 'another shard in flight');
    expect(staleTemporaries(target)).toHaveLength(1);
    const checksum = writeOutputAtomic(target, new Uint8Array([1, 2, 3]));
    expect(sha256File(target)).toBe(checksum);
    expect(readdirSync(folder).sort()).toEqual(['.shard-00000-of-00002.npy.otherhost-123-abcd1234.tmp', 'shard-00001-of-00002.npy']);
  });
});

describe('runShard', () => {
  it('writes one row per input item, the same bytes on a rerun, in .npy and .safetensors', async () => {
    const files = [inputFile('a.npy', [32, 10, 10], 1), inputFile('b.npy', [3, 32, 10, 10], 2)];
    const job: ShardJob = { version: 1, inputs: { files }, output: path.join(dir, 'shard.npy'), batch: 2 };
    const first = await runShard(extraction, job, { worker: 'here' });
    expect(first).toMatchObject({ items: 4, features: 256, worker: 'here', output: job.output });
    const bytes = readFileSync(job.output);
    const again = await runShard(extraction, job);
    expect(again.checksum).toBe(first.checksum);
    expect(readFileSync(job.output).equals(bytes)).toBe(true);
    const features = readNpy(new Uint8Array(bytes));
    const single = extraction.model.forward({ data: seededFloats(32 * 10 * 10, 1), shape: [1, 32, 10, 10] });
    expect(Array.from(features.data.subarray(0, 256))).toEqual(Array.from(single.data));

    const safetensors = await runShard(extraction, { ...job, output: path.join(dir, 'shard.safetensors') });
    const store = loadWeights(safetensors.output);
    expect(store.info('features').shape).toEqual([4, 256]);
    expect(Array.from(store.tensor('features').data)).toEqual(Array.from(features.data));
  });

  it('reads a slice of a folder, and fails with ERR_SCALE_INPUT when the folder no longer has it', async () => {
    const folder = path.join(dir, 'folder');
    mkdirSync(folder);
    for (let i = 0; i < 3; i++) saveNpy(path.join(folder, `x${i}.npy`), { data: seededFloats(32 * 8 * 8, 10 + i), shape: [32, 8, 8] });
    const summary = await runShard(extraction, { version: 1, inputs: { folder, first: 1, count: 2 }, output: path.join(dir, 'slice.npy') });
    expect(summary.items).toBe(2);
    const error = await runShard(extraction, { version: 1, inputs: { folder, first: 2, count: 2 }, output: path.join(dir, 'no.npy') })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ScaleError);
    expect(error).toMatchObject({ code: 'ERR_SCALE_INPUT', message: expect.stringMatching(/holds 3 .npy\/.npz files; the shard needs files 2 to 3/) });
  });

  it('refuses inputs of the wrong channels before computing, naming the file', async () => {
    const wrong = inputFile('wrong.npy', [16, 8, 8], 3);
    const error = await runShard(extraction, { version: 1, inputs: { files: [wrong] }, output: path.join(dir, 'wrong-out.npy') })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'ERR_SCALE_INPUT', message: expect.stringMatching(/wrong\.npy: 16 channels but the model expects 32/) });
    expect(readdirSync(dir)).not.toContain('wrong-out.npy');
  });
});
