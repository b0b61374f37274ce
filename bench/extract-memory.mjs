// Memory stays flat however many inputs `conv1x1 extract` reads: writes N seeded [32, 56, 56] .npy
// inputs (N = 100 and 1,000 by default) to a temporary folder, runs the CLI over each folder and
// prints its throughput and peak RSS. Run: `node bench/extract-memory.mjs [N ...]` after `npm ci`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { saveNpy } = require('../dist/index.js');
const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;

const counts = process.argv.slice(2).map(Number).filter((n) => n > 0);
const root = mkdtempSync(path.join(tmpdir(), 'conv1x1-extract-'));
try {
  for (const count of counts.length ? counts : [100, 1000]) {
    const folder = path.join(root, `inputs-${count}`);
    mkdirSync(folder);
    let state = count;
    for (let i = 0; i < count; i++) {
      const data = new Float32Array(32 * 56 * 56);
      for (let j = 0; j < data.length; j++) {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        data[j] = state / 2 ** 31 - 1;
      }
      saveNpy(path.join(folder, `${String(i).padStart(5, '0')}.npy`), { data, shape: [32, 56, 56] });
    }
    const run = spawnSync(process.execPath, [cli, 'extract', '--input', folder, '--out', path.join(root, `f-${count}.npy`)], {
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`extract failed: ${run.stderr}`);
    console.log(`${String(count).padStart(5)} inputs (${(count * 32 * 56 * 56 * 4 / 2 ** 20).toFixed(0)} MiB): ${run.stdout.trim()}`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
