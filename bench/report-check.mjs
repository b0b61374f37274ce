// Renders a synthetic results object (3 shapes, 4 competitors at 1 and 2 threads, one pair missing, all
// extras) through bench/report.mjs into a temp dir, checks the Markdown's cells, and rasterizes the SVG to
// a PNG (headless Chromium, else rsvg-convert, else ImageMagick) so a person can look at it.
// Run: `node bench/report-check.mjs [out.png]` (default /tmp/conv1x1-report-check.png).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { renderReport, writeReport } from './report.mjs';

const pngPath = path.resolve(process.argv[2] ?? path.join(os.tmpdir(), 'conv1x1-report-check.png'));

const shapes = [
  { id: 'r50-56-64-256', label: 'ResNet-50 56×56 64→256', group: 'ResNet-50', flops: 2 * 64 * 256 * 56 * 56 },
  { id: 'mv2-14-96-576', label: 'MobileNetV2 14×14 96→576', group: 'MobileNetV2', flops: 2 * 96 * 576 * 14 * 14 },
  { id: 'b8-28-128-512', label: 'N=8 28×28 128→512 <batched>', group: 'batched',
    flops: 2 * 8 * 128 * 512 * 28 * 28 },
];
const peers = [
  { key: 'blas', label: 'conv1x1 (blas)', ours: true },
  { key: 'builtin', label: 'conv1x1 (builtin)', ours: true },
  { key: 'ort', label: 'onnxruntime-node', ours: false },
  { key: 'tfjs', label: 'tfjs-wasm', ours: false },
];
const competitors = [1, 2].flatMap((threads) =>
  peers.map(({ key, label, ours }) => ({ id: `${key}@${threads}`, label, threads, ours })));

// GFLOP/s at one thread per (competitor, shape); two threads scale by 1.85, tfjs by less.
const base = {
  blas: [118.4, 96.2, 131.0],
  builtin: [104.9, 101.7, 122.3],
  ort: [110.2, 88.5, 127.6],
  tfjs: [21.4, 17.9, 23.2],
};
const MISSING = { shape: 'b8-28-128-512', competitor: 'tfjs@2' };

const results = [];
for (const competitor of competitors) {
  const [key] = competitor.id.split('@');
  shapes.forEach((shape, i) => {
    if (shape.id === MISSING.shape && competitor.id === MISSING.competitor) return;
    const gflops = base[key][i] * (competitor.threads === 2 ? (key === 'tfjs' ? 1.3 : 1.85) : 1);
    const medianMs = shape.flops / gflops / 1e6;
    results.push({
      shape: shape.id, competitor: competitor.id, medianMs,
      p10Ms: medianMs * 0.96, p90Ms: medianMs * 1.07, gflops, samples: 31,
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
  '| ResNet-50 | ResNet-50 56×56 64→256 | **118.4 (1.07×)** | 104.9 (0.95×) | 110.2 | 21.4 |');
assert.match(row('## 2 threads', 'N=8'), /\| 236\.1 \| — \|$/);
assert.match(row('## 2 threads', 'N=8'), /\\<batched\\>/);
for (const section of ['## Extras', '### Per-call overhead', '### Async throughput', '### Event-loop delay',
  '### Peak RSS', '### Notes', '## Skipped']) {
  assert.ok(markdown.includes(section), `Markdown has no "${section}"`);
}
assert.ok(markdown.includes('- xnnpack — all shapes: not installed'));
assert.ok(markdown.includes('`node bench/run.mjs --threads 1,2 --filter "ResNet|MobileNet"`'));

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
