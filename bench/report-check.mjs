// Renders a synthetic results object (3 shapes, 4 competitors at 1 and 2 threads, one pair missing, all
// extras) through bench/report.mjs into a temp dir, checks the Markdown's cells and targets, checks the
// targets' verdicts on a second synthetic run with the suite's own labels, and rasterizes the SVG to a
// PNG (headless Chromium, else rsvg-convert, else ImageMagick) so a person can look at it.
// Run: `node bench/report-check.mjs [out.png]` (default /tmp/conv1x1-report-check.png).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { renderReport, writeReport } from './report.mjs';
import { checkTargets, FAIL, NOT_MEASURED, PASS } from './targets.mjs';

const pngPath = path.resolve(process.argv[2] ?? path.join(os.tmpdir(), 'conv1x1-report-check.png'));

const shapes = [
  { id: 'r50-56-64-256', label: 'ResNet-50 56×56 64→256', group: 'ResNet-50', flops: 2 * 64 * 256 * 56 * 56 },
  { id: 'mv2-14-96-576', label: 'MobileNetV2 14×14 96→576', group: 'MobileNetV2', flops: 2 * 96 * 576 * 14 * 14 },
  { id: 'b8-28-128-512', label: 'N=8 28×28 128→512 <batched>', group: 'batched',
    flops: 2 * 8 * 128 * 512 * 28 * 28 },
];
// Ids as bench/competitors.mjs names them, so that the default's engine column and the targets find them.
const peers = [
  { key: 'conv1x1-auto-out', label: 'conv1x1 default sync out', ours: true },
  { key: 'conv1x1-builtin-out', label: 'conv1x1 builtin sync out', ours: true },
  { key: 'onnxruntime', label: 'onnxruntime-node', ours: false },
  { key: 'tfjs-wasm', label: 'tfjs-wasm', ours: false },
];
const competitors = [1, 2].flatMap((threads) =>
  peers.map(({ key, label, ours }) => ({ id: `${key}-${threads}t`, label, threads, ours })));

// GFLOP/s at one thread per (competitor, shape); two threads scale by 1.85, tfjs by less.
const base = {
  'conv1x1-auto-out': [118.4, 96.2, 131.0],
  'conv1x1-builtin-out': [104.9, 101.7, 122.3],
  onnxruntime: [110.2, 88.5, 127.6],
  'tfjs-wasm': [21.4, 17.9, 23.2],
};
const ENGINES = ['openblas', 'builtin avx512f (channel tiles)', 'builtin avx512f (pixel tiles)'];
const MISSING = { shape: 'b8-28-128-512', competitor: 'tfjs-wasm-2t' };

const results = [];
for (const competitor of competitors) {
  const key = competitor.id.replace(/-\dt$/, '');
  shapes.forEach((shape, i) => {
    if (shape.id === MISSING.shape && competitor.id === MISSING.competitor) return;
    const gflops = base[key][i] * (competitor.threads === 2 ? (key === 'tfjs-wasm' ? 1.3 : 1.85) : 1);
    const medianMs = shape.flops / gflops / 1e6;
    results.push({
      shape: shape.id, competitor: competitor.id, medianMs,
      p10Ms: medianMs * 0.96, p90Ms: medianMs * 1.07, gflops, samples: 31,
      ...(key === 'conv1x1-auto-out' ? { engine: ENGINES[i] } : {}),
    });
  });
}

const synthetic = {
  meta: {
    date: '2025-01-15T09:30:12.345Z',
    command: 'node bench/run.mjs --threads 1,2 --filter "ResNet|MobileNet"',
    quick: false,
    machine: {
      cpu: 'Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz', cores: 2,
      flags: ['avx512f', 'avx2', 'fma'], os: 'Linux 6.1.0 x64', node: 'v20.20.2',
    },
    libraries: { openblas: '0.3.21', 'onnxruntime-node': '1.30.0', 'tfjs-wasm': '4.22.0' },
    peakGflops: { threads1: 142.0, threads2: 268.5 },
  },
  shapes,
  competitors,
  results,
  skipped: [
    { competitor: MISSING.competitor, shape: MISSING.shape, reason: 'out of memory at N=8 (wasm heap is 2 GB)' },
    { competitor: 'xnnpack', reason: 'not installed' },
  ],
  extras: {
    overhead: [
      { label: '1×1×8×8 8→8, sync vs async', syncUs: 1.9, asyncUs: 14.6 },
      { label: 'Conv1x1.forward, 1×64×1×1', syncUs: 2.4, asyncUs: 16.1 },
    ],
    throughput: [
      { inFlight: 1, callsPerSecond: 1450.2, gflops: 119.3 },
      { inFlight: 4, callsPerSecond: 2688.9, gflops: 221.2 },
    ],
    eventLoopDelay: { p50Ms: 0.02, p99Ms: 0.41, maxMs: 1.9, during: '200 async ResNet-50 56×56 calls' },
    peakRssMb: 187.4,
    notes: ['ORT & tfjs run in-process; <2 ms calls are noisy', 'OpenBLAS idle threads stopped after load'],
  },
};

const dir = await mkdtemp(path.join(os.tmpdir(), 'conv1x1-report-'));
const written = await writeReport(synthetic, dir);
const { markdown, svg } = renderReport(synthetic);

// Files: the stamped three and their latest.* copies, byte for byte.
assert.deepEqual((await readdir(dir)).sort(), [
  '2025-01-15T09-30-12Z.json', '2025-01-15T09-30-12Z.md', '2025-01-15T09-30-12Z.svg',
  'latest.json', 'latest.md', 'latest.svg',
]);
assert.equal(await readFile(written.markdownPath, 'utf8'), markdown);
assert.equal(await readFile(path.join(dir, 'latest.svg'), 'utf8'), svg);
assert.deepEqual(JSON.parse(await readFile(written.jsonPath, 'utf8')), synthetic);

// Markdown: ratio to the best peer in the row, bold best, — for the missing pair, every section.
const row = (heading, label) => markdown.split(heading)[1].split('\n').find((line) => line.includes(label));
assert.equal(row('## 1 thread', 'ResNet-50 56×56'),
  '| ResNet-50 | ResNet-50 56×56 64→256 | openblas | **118.4 (1.07×)** | 104.9 (0.95×) | 110.2 | 21.4 |');
assert.match(row('## 1 thread', '| Group'), /^\| Group \| Shape \| Default engine \| conv1x1 default sync out \|/);
assert.match(row('## 2 threads', 'N=8'), /\| builtin avx512f \(pixel tiles\) \|/);
assert.match(row('## 2 threads', 'N=8'), /\| 236\.1 \| — \|$/);
assert.match(row('## 2 threads', 'N=8'), /\\<batched\\>/);
for (const section of ['## Targets', '## Extras', '### Per-call overhead', '### Async throughput', '### Event-loop delay',
  '### Peak RSS', '### Notes', '## Skipped']) {
  assert.ok(markdown.includes(section), `Markdown has no "${section}"`);
}
assert.ok(markdown.includes('- xnnpack — all shapes: not installed'));
assert.ok(markdown.includes('`node bench/run.mjs --threads 1,2 --filter "ResNet|MobileNet"`'));

// Targets of the synthetic run: no raw sgemm, no suite shapes, so nothing may pass; the mean is too low.
const targetsText = markdown.split('## Targets')[1].split('## Extras')[0];
assert.match(targetsText, /### a\. NOT MEASURED: /);
assert.match(targetsText, /\| ResNet-50 56×56 64→256 \| 1\.07× vs ort, raw sgemm not measured \|/);
assert.match(targetsText, /### b\. FAIL: .*\n\n1\.06× over 6 cells/);
for (const id of ['c', 'd', 'e']) assert.match(targetsText, new RegExp(`### ${id}\\. NOT MEASURED: `));
assert.ok(!targetsText.includes('PASS'), 'a synthetic run without peers passed a target');

// Targets on the suite's labels: each verdict, and a missing peer is never a pass.
{
  const flopsOf = { '8² 16→16': 2 * 16 * 16 * 64, 'Linear 512→512': 2 * 512 * 512 };
  const suite = ['ResNet 7² 2048→512', 'MNv2 112² 16→96', 'ShuffleNet 28² 240→240 g3', '8² 16→16', 'Linear 512→512']
    .map((label, i) => ({ id: `s${i}`, label, groups: label.endsWith('g3') ? 3 : 1, flops: flopsOf[label] ?? 1e8 }));
  const ids = ['conv1x1-auto-out', 'conv1x1-blas-out', 'conv1x1-builtin-out', 'raw-sgemm', 'onnxruntime'];
  const run = {
    meta: { quick: true, peakGflops: { threads1: 100, threads2: 200 } },
    shapes: suite,
    competitors: [1, 2].flatMap((threads) => ids.map((key) => ({ id: `${key}-${threads}t`, label: key, threads, ours: key.startsWith('conv1x1') }))),
    results: [],
  };
  // GFLOP/s per shape at 1 thread (2 threads: twice); overhead rows give µs per call instead.
  const gflops = {
    'ResNet 7² 2048→512': { 'conv1x1-auto-out': 96, 'conv1x1-blas-out': 70, 'conv1x1-builtin-out': 96, 'raw-sgemm': 70, onnxruntime: 60 },
    'MNv2 112² 16→96': { 'conv1x1-auto-out': 50, 'conv1x1-blas-out': 30, 'conv1x1-builtin-out': 50, 'raw-sgemm': 30, onnxruntime: 20 },
    'ShuffleNet 28² 240→240 g3': { 'conv1x1-auto-out': 40, 'conv1x1-blas-out': 20, 'conv1x1-builtin-out': 40, onnxruntime: 25 },
  };
  const micros = {
    '8² 16→16': { 'conv1x1-auto-out': 1.2, 'conv1x1-builtin-out': 1.2, 'raw-sgemm': 1.1, onnxruntime: 9 },
    'Linear 512→512': { 'conv1x1-auto-out': 10, 'conv1x1-builtin-out': 10, 'raw-sgemm': 9.5, onnxruntime: 60 },
  };
  for (const shape of suite) {
    for (const threads of [1, 2]) {
      for (const [key, value] of Object.entries(gflops[shape.label] ?? {})) {
        const g = value * threads;
        run.results.push({ shape: shape.id, competitor: `${key}-${threads}t`, gflops: g, medianMs: shape.flops / g / 1e6 });
      }
      for (const [key, us] of Object.entries(micros[shape.label] ?? {})) {
        run.results.push({ shape: shape.id, competitor: `${key}-${threads}t`, medianMs: us / 1000, gflops: shape.flops / us / 1e3 });
      }
    }
  }
  const verdicts = (r) => Object.fromEntries(checkTargets(r).items.map((t) => [t.id, t.status]));
  assert.deepEqual(verdicts(run), { a: PASS, b: PASS, c: PASS, d: PASS, e: PASS });

  // Without onnxruntime: (a) and (b) still have raw sgemm, but are not measured; (e) too.
  const noOrt = { ...run, results: run.results.filter((r) => !r.competitor.startsWith('onnxruntime')) };
  assert.deepEqual(verdicts(noOrt), { a: NOT_MEASURED, b: NOT_MEASURED, c: PASS, d: PASS, e: NOT_MEASURED });

  // A slower default on one cell, a slow builtin, a slow overhead call: each fails, and says where.
  const slower = structuredClone(run);
  const find = (label, id) => slower.results.find((r) => r.shape === suite.find((s) => s.label === label).id && r.competitor === id);
  find('MNv2 112² 16→96', 'conv1x1-auto-out-2t').gflops = 50;
  find('ResNet 7² 2048→512', 'conv1x1-builtin-out-1t').gflops = 60;
  find('8² 16→16', 'conv1x1-auto-out-1t').medianMs = 0.002;
  find('ResNet 7² 2048→512', 'conv1x1-auto-out-2t').gflops = 180;
  const checked = checkTargets(slower);
  assert.deepEqual(Object.fromEntries(checked.items.map((t) => [t.id, t.status])), { a: FAIL, b: PASS, c: FAIL, d: FAIL, e: FAIL });
  const [a, , c, d, e] = checked.items;
  assert.match(a.summary, /^1 of 6 cells miss: MNv2 112² 16→96 at 2 threads: 0\.83× vs sgemm$/);
  assert.match(c.summary, /ResNet 7² 2048→512 at 1 thread: 0\.86× vs sgemm/);
  assert.equal(c.cells.find((cell) => cell.label.endsWith('g3')).against, 'conv1x1 BLAS');
  assert.match(d.summary, /ResNet 7² 2048→512 at 2 threads: 90% \(180\.0 of 200\.0 GFLOP\/s\)/);
  assert.match(e.summary, /8² 16→16 at 1 thread: 2\.00 µs \(limit 1\.5\), 4\.5× faster than ort/);

  // Every ratio 1.1×, so (a) passes and the mean, under 1.3×, fails (b) alone.
  const close = structuredClone(run);
  for (const r of close.results) {
    const ours = close.results.find((o) => o.shape === r.shape && o.competitor === `conv1x1-auto-out-${r.competitor.slice(-2)}`);
    if (r.competitor.startsWith('onnxruntime') && !(suite.find((s) => s.id === r.shape).label in micros)) r.gflops = ours.gflops / 1.1;
  }
  assert.deepEqual(verdicts(close), { a: PASS, b: FAIL, c: PASS, d: PASS, e: PASS });
}

// Well-formed XML (a browser shows only an error page otherwise, and its screenshot would still be a PNG):
// tags balance, no attribute twice, no bare & or < in text or attribute values.
function checkWellFormed(text) {
  const open = [];
  const markup = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let end = 0;
  for (const match of text.matchAll(markup)) {
    const between = text.slice(end, match.index);
    assert.ok(!/[<>]|&(?!(amp|lt|gt|quot|apos);)/.test(between), `bad text before offset ${match.index}: ${between}`);
    const [, closing, name, attrs, selfClosing] = match;
    const attrNames = [...attrs.matchAll(/([\w:-]+)="([^"]*)"/g)].map(([, attr, value]) => {
      assert.ok(!/&(?!(amp|lt|gt|quot|apos);)/.test(value), `bare & in ${name}.${attr}`);
      return attr;
    });
    assert.equal(new Set(attrNames).size, attrNames.length, `repeated attribute in <${name}${attrs}>`);
    if (closing) assert.equal(open.pop(), name, `</${name}> closes the wrong element`);
    else if (!selfClosing) open.push(name);
    end = match.index + match[0].length;
  }
  assert.equal(text.slice(end).trim(), '', 'text after the root element');
  assert.deepEqual(open, [], 'unclosed elements');
}

// SVG: well-formed, text escaped, both panels and both peak lines present.
checkWellFormed(svg);
assert.ok(svg.includes('N=8 28×28 128→512 &lt;batched&gt;'));
assert.equal(svg.match(/practical peak \(2048³ sgemm\)/g).length, 2);
assert.ok(svg.includes('>1 thread<') && svg.includes('>2 threads<'));

// Chromium first: it is what "readable in a browser" means. ImageMagick's own SVG renderer (Debian's has
// no librsvg delegate) turns rotated text the wrong way, so its picture is a weaker check.
function rasterize(svgPath, svgText) {
  const height = Number(svgText.match(/<svg[^>]* height="(\d+)"/)[1]);
  const tools = [
    ['chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--screenshot=${pngPath}`,
      `--window-size=1200,${height}`, `file://${svgPath}`]],
    ['rsvg-convert', ['-b', 'white', '-o', pngPath, svgPath]],
    ['convert', ['-density', '96', '-background', 'white', svgPath, pngPath]],
  ];
  const failures = [];
  for (const [tool, args] of tools) {
    try {
      execFileSync(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      return tool;
    } catch (error) {
      failures.push(`${tool}: ${String(error.stderr ?? error.message).trim().split('\n')[0]}`);
    }
  }
  throw new Error(`No rasterizer worked (apt-get install -y chromium, or imagemagick):\n  ${failures.join('\n  ')}`);
}

const tool = rasterize(written.svgPath, svg);
const png = await readFile(pngPath);
assert.ok(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'not a PNG');
const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
assert.ok(width >= 1000 && height >= 600, `PNG is only ${width}×${height}`);

console.log(`report: ${dir} (${(await stat(written.svgPath)).size} bytes of SVG)`);
console.log(`png: ${pngPath} (${width}×${height}, by ${tool})`);
