// The benchmark report: one results object (as the runner writes it) rendered as Markdown tables and a
// self-contained SVG chart, written as <dir>/<stamp>.md|.json|.svg and copied to <dir>/latest.* (a full
// run: the copy the README shows) or <dir>/latest-quick.* (a --quick run).
// Every figure is GFLOP/s; a conv1x1 cell also shows its ratio to the best peer measured in the same
// row at the same thread count. A shape/competitor pair absent from `results` is "not applicable".
// The targets (bench/targets.mjs) come from `results.targets` when the runner stored them, else are
// computed here from the same medians.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { checkTargets, FAIL, ID, NOT_MEASURED } from './targets.mjs';

const PEAK_LABEL = 'practical peak (2048³ sgemm)';

export function renderReport(results) {
  const report = index(results);
  return { markdown: renderMarkdown(report), svg: renderSvg(report) };
}

export async function writeReport(results, dir = 'bench/results') {
  const { markdown, svg } = renderReport(results);
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const base = path.join(dir, stamp(results.meta));
  const written = { markdownPath: `${base}.md`, jsonPath: `${base}.json`, svgPath: `${base}.svg` };
  await mkdir(dir, { recursive: true });
  await writeFile(written.markdownPath, markdown);
  await writeFile(written.jsonPath, json);
  await writeFile(written.svgPath, svg);
  // A run of some shapes (--only) is kept under its own name and never becomes a "latest" copy.
  if (!results.meta?.only) {
    const latest = results.meta?.quick ? 'latest-quick' : 'latest';
    for (const ext of ['md', 'json', 'svg']) await copyFile(`${base}.${ext}`, path.join(dir, `${latest}.${ext}`));
  }
  return written;
}

// "2024-05-01T12-34-56Z" (no colons, so it is a valid file name everywhere), "-quick" for quick runs,
// "-only" for runs of some shapes.
function stamp(meta) {
  const date = new Date(meta.date);
  const when = Number.isNaN(date.getTime()) ? new Date() : date;
  return when.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-') + (meta.quick ? '-quick' : '') + (meta.only ? '-only' : '');
}

// ---------------------------------------------------------------------------------------------------
// Input: checked once, then indexed by thread count and by (shape, competitor).

function describe(value) {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `${typeof value === 'string' ? JSON.stringify(value) : String(value)} of type ${typeof value}`;
}

function expect(ok, name, expected, value, ErrorClass = TypeError) {
  if (!ok) throw new ErrorClass(`Expected ${expected} for ${name} but received ${describe(value)}`);
}

function index(results) {
  expect(results !== null && typeof results === 'object', 'results', 'an object', results);
  const { meta, shapes, competitors } = results;
  expect(meta !== null && typeof meta === 'object', 'results.meta', 'an object', meta);
  for (const key of ['shapes', 'competitors', 'results']) {
    expect(Array.isArray(results[key]), `results.${key}`, 'an array', results[key]);
  }
  const shapeIds = new Set(shapes.map((shape) => shape.id));
  const competitorIds = new Set(competitors.map((competitor) => competitor.id));
  competitors.forEach((competitor, i) => {
    const ok = Number.isInteger(competitor.threads) && competitor.threads > 0;
    expect(ok, `results.competitors[${i}].threads`, 'a positive integer', competitor.threads);
  });

  const cells = new Map();
  results.results.forEach((result, i) => {
    const at = `results.results[${i}]`;
    expect(shapeIds.has(result.shape), `${at}.shape`, 'the id of one of results.shapes', result.shape, RangeError);
    expect(competitorIds.has(result.competitor), `${at}.competitor`, 'the id of one of results.competitors',
      result.competitor, RangeError);
    expect(Number.isFinite(result.gflops), `${at}.gflops`, 'a finite number', result.gflops);
    const key = cellKey(result.shape, result.competitor);
    expect(!cells.has(key), at, `the only result for ${key}`, 'a second one', RangeError);
    cells.set(key, result);
  });

  const threadCounts = [...new Set(competitors.map((competitor) => competitor.threads))].sort((a, b) => a - b);
  const panels = threadCounts.map((threads) => ({
    threads,
    competitors: competitors.filter((competitor) => competitor.threads === threads),
    peak: meta.peakGflops?.[`threads${threads}`],
  }));
  return {
    meta,
    shapes,
    panels,
    competitorLabel: new Map(competitors.map((competitor) => [competitor.id, competitor.label])),
    shapeLabel: new Map(shapes.map((shape) => [shape.id, shape.label])),
    cell: (shapeId, competitorId) => cells.get(cellKey(shapeId, competitorId)),
    skipped: results.skipped ?? [],
    extras: results.extras ?? {},
    colours: assignColours(competitors),
    targets: results.targets ?? checkTargets(results),
  };
}

const cellKey = (shapeId, competitorId) => `${shapeId} × ${competitorId}`;

// The best peer (non-ours) figure in one row at one thread count, or undefined if no peer ran there.
function bestPeer(report, shape, panel) {
  const peers = panel.competitors
    .filter((competitor) => !competitor.ours)
    .map((competitor) => report.cell(shape.id, competitor.id)?.gflops)
    .filter((gflops) => gflops !== undefined);
  return peers.length ? Math.max(...peers) : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Number formats: three significant figures at least, never more than one decimal above 10.

function fmtGflops(value) {
  if (value >= 10) return value.toFixed(1);
  if (value >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

const fmtRatio = (ratio) => `${ratio.toFixed(2)}×`;
const fmtFixed = (value, digits) => (Number.isFinite(value) ? value.toFixed(digits) : '—');
const fmtInt = (value) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—');
const plural = (count, word) => `${count} ${word}${count === 1 ? '' : 's'}`;

// ---------------------------------------------------------------------------------------------------
// Markdown

// Text in a table cell or list item: Markdown's own characters and raw HTML are shown literally.
const mdText = (value) => String(value).replace(/[\\`*_[\]<>|#]/g, '\\$&').replace(/\s*\n\s*/g, ' ');

// A code span that survives backticks inside the command.
function mdCode(value) {
  const text = String(value).replace(/\s*\n\s*/g, ' ');
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

function mdTable(header, rows, align) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(align.map((a) => (a === 'r' ? '---:' : '---'))), ...rows.map(line)].join('\n');
}

function renderMarkdown(report) {
  const { meta } = report;
  const machine = meta.machine ?? {};
  const libraries = Object.entries(meta.libraries ?? {});
  const peaks = report.panels
    .filter((panel) => Number.isFinite(panel.peak))
    .map((panel) => `${plural(panel.threads, 'thread')} ${fmtGflops(panel.peak)} GFLOP/s`);
  const out = [
    `# conv1x1 benchmark — ${mdText(displayDate(meta.date))}`,
    '',
    `- **Date:** ${mdText(meta.date)}`,
    `- **Command:** ${mdCode(meta.command)}`,
    `- **Run:** ${meta.quick ? 'quick (fewer shapes or samples; indicative only)' : 'full'}${meta.only ? `, only the shapes whose label contains ${mdCode(meta.only)}` : ''}`,
    `- **CPU:** ${mdText(machine.cpu ?? '?')}, ${plural(machine.cores ?? '?', 'core')}`,
    `- **CPU flags:** ${(machine.flags ?? []).length ? machine.flags.map(mdText).join(', ') : '—'}`,
    `- **OS:** ${mdText(machine.os ?? '?')}; **Node:** ${mdText(machine.node ?? '?')}`,
    `- **Libraries:** ${libraries.map(([name, version]) => `${mdText(name)} ${mdText(version)}`).join(', ') || '—'}`,
  ];
  if (peaks.length) out.push(`- **Practical peak (2048³ sgemm):** ${peaks.join(', ')}`);
  out.push(
    '',
    'Cells are median GFLOP/s. For conv1x1 variants, the ratio in parentheses is to the best peer in the same row',
    'at the same thread count; the best cell in each row is bold; — means not applicable or skipped.',
  );
  const engines = report.panels.some((panel) => report.shapes.some((shape) => report.cell(shape.id, ID.default(panel.threads))?.engine));
  if (engines) out.push('Default engine: what the default selection runs that shape on.');

  for (const panel of report.panels) out.push('', ...renderMarkdownPanel(report, panel));
  out.push('', ...renderMarkdownTargets(report.targets));
  out.push('', ...renderMarkdownExtras(report.extras));
  out.push('', ...renderMarkdownSkipped(report));
  return `${out.join('\n')}\n`;
}

function renderMarkdownPanel(report, panel) {
  // What the default runs on per shape (a BLAS, or the builtin kernels and their tiling), when recorded.
  const engines = report.shapes.map((shape) => report.cell(shape.id, ID.default(panel.threads))?.engine);
  const showEngines = engines.some((engine) => engine !== undefined);
  const header = ['Group', 'Shape', ...(showEngines ? ['Default engine'] : []),
    ...panel.competitors.map((competitor) => mdText(competitor.label))];
  const rows = report.shapes.map((shape, row) => {
    const measured = panel.competitors.map((competitor) => report.cell(shape.id, competitor.id)?.gflops);
    const best = Math.max(...measured.filter((gflops) => gflops !== undefined));
    const peer = bestPeer(report, shape, panel);
    const cells = panel.competitors.map((competitor, i) => {
      const gflops = measured[i];
      if (gflops === undefined) return '—';
      const ratio = competitor.ours && peer > 0 ? ` (${fmtRatio(gflops / peer)})` : '';
      const text = `${fmtGflops(gflops)}${ratio}`;
      return gflops === best ? `**${text}**` : text;
    });
    const engine = showEngines ? [engines[row] === undefined ? '—' : mdText(engines[row])] : [];
    return [mdText(shape.group ?? ''), mdText(shape.label), ...engine, ...cells];
  });
  const title = `## ${plural(panel.threads, 'thread')}`;
  const peak = Number.isFinite(panel.peak) ? [`${PEAK_LABEL}: ${fmtGflops(panel.peak)} GFLOP/s.`, ''] : [];
  const align = header.map((_, i) => (i < (showEngines ? 3 : 2) ? 'l' : 'r'));
  return [title, '', ...peak, mdTable(header, rows, align)];
}

// One heading per target with its verdict, the numbers, and a shape × threads table of its cells.
function renderMarkdownTargets(targets) {
  const out = ['## Targets', '',
    `From this run at ${targets.threads.join(' and ')} threads${targets.quick ? ' (quick run: the shapes it has)' : ''}: ` +
    'each ratio is the median of its per-round ratios (the rounds interleave the competitors), and (d) ' +
    'sets each round against the practical peak timed in the same round; ' +
    `a figure the run lacks is not measured, never a pass. ${mdText(targets.summary)}.`];
  for (const target of targets.items) {
    out.push('', `### ${target.id}. ${target.status}: ${mdText(target.title)}`);
    if (target.summary) out.push('', `${mdText(target.summary)}.`);
    if (!target.cells.length) continue;
    const shapes = [...new Map(target.cells.map((cell) => [cell.shape, cell.label])).entries()];
    const rows = shapes.map(([shapeId, label]) => [mdText(label), ...targets.threads.map((threads) => {
      const cell = target.cells.find((c) => c.shape === shapeId && c.threads === threads);
      if (!cell) return '—';
      const text = mdText(cell.text ?? '');
      if (cell.status === FAIL) return `**${text} ✗**`;
      return cell.status === NOT_MEASURED && !/not measured|not in this run/.test(text) ? `${text} (not measured)` : text;
    })]);
    const header = ['Shape', ...targets.threads.map((threads) => plural(threads, 'thread'))];
    out.push('', mdTable(header, rows, header.map((_, i) => (i ? 'r' : 'l'))));
  }
  return out;
}

function renderMarkdownExtras(extras) {
  const out = ['## Extras'];
  if (extras.overhead?.length) {
    const rows = extras.overhead.map((row) => [mdText(row.label), fmtFixed(row.syncUs, 1), fmtFixed(row.asyncUs, 1)]);
    out.push('', '### Per-call overhead', '', mdTable(['Call', 'sync µs', 'async µs'], rows, ['l', 'r', 'r']));
  }
  if (extras.throughput?.length) {
    const rows = extras.throughput.map((row) => [String(row.inFlight), fmtInt(row.callsPerSecond),
      Number.isFinite(row.gflops) ? fmtGflops(row.gflops) : '—']);
    out.push('', '### Async throughput', '', mdTable(['In flight', 'calls/s', 'GFLOP/s'], rows, ['r', 'r', 'r']));
  }
  const delay = extras.eventLoopDelay;
  if (delay) {
    out.push('', '### Event-loop delay', '',
      `p50 ${fmtFixed(delay.p50Ms, 2)} ms, p99 ${fmtFixed(delay.p99Ms, 2)} ms, max ${fmtFixed(delay.maxMs, 2)} ms` +
      (delay.during ? `, during ${mdText(delay.during)}.` : '.'));
  }
  if (Number.isFinite(extras.peakRssMb)) {
    out.push('', '### Peak RSS', '', `${fmtFixed(extras.peakRssMb, 1)} MB`);
  }
  if (extras.notes?.length) out.push('', '### Notes', '', ...extras.notes.map((note) => `- ${mdText(note)}`));
  if (out.length === 1) out.push('', 'None recorded.');
  return out;
}

function renderMarkdownSkipped(report) {
  const out = ['## Skipped', ''];
  if (!report.skipped.length) return [...out, 'Nothing was skipped.'];
  for (const skip of report.skipped) {
    const who = mdText(report.competitorLabel.get(skip.competitor) ?? skip.competitor);
    const where = skip.shape === undefined ? 'all shapes' : mdText(report.shapeLabel.get(skip.shape) ?? skip.shape);
    out.push(`- ${who} — ${where}: ${mdText(skip.reason)}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// SVG: one panel per thread count, stacked; grouped bars per shape, one colour per competitor label
// (the same peer at 1 and 2 threads keeps its colour), whiskers p10–p90, dashed practical peak.

const OURS_COLOURS = ['#e15759', '#f28e2b', '#b07aa1', '#ff9da7', '#d37295'];
const PEER_COLOURS = ['#4e79a7', '#59a14f', '#76b7b2', '#9c755f', '#edc948', '#499894', '#79706e', '#86bcb6'];

function assignColours(competitors) {
  const colours = new Map();
  let ours = 0;
  let peers = 0;
  for (const competitor of competitors) {
    if (colours.has(competitor.label)) continue;
    const [palette, n] = competitor.ours ? [OURS_COLOURS, ours++] : [PEER_COLOURS, peers++];
    // Past the palette, spread further hues by the golden angle.
    colours.set(competitor.label, palette[n] ?? `hsl(${Math.round((n * 137.5) % 360)}, 55%, 50%)`);
  }
  return colours;
}

const xml = (value) => String(value)
  .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  .replace(/"/g, '&quot;').replace(/'/g, '&apos;');

// Rough advance width of sans-serif text, enough to lay out labels and the legend.
const textWidth = (text, size) => String(text).length * size * 0.56;

// Tick step of 1, 2, 2.5 or 5 × 10^k giving about five ticks up to max.
function niceStep(max) {
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * magnitude >= raw) * magnitude;
  return step;
}

const round = (value) => Math.round(value * 10) / 10;

function svgText(x, y, text, { size = 12, anchor = 'start', weight, fill = '#222', rotate } = {}) {
  const place = rotate
    ? `x="0" y="0" transform="translate(${round(x)} ${round(y)}) rotate(${rotate})"`
    : `x="${round(x)}" y="${round(y)}"`;
  const attrs = [place, `font-size="${size}"`, `fill="${fill}"`];
  if (anchor !== 'start') attrs.push(`text-anchor="${anchor}"`);
  if (weight) attrs.push(`font-weight="${weight}"`);
  return `<text ${attrs.join(' ')}>${xml(text)}</text>`;
}

// Shapes say fill and stroke explicitly: some renderers otherwise outline a rect or fill under a line.
const svgLine = (x1, y1, x2, y2, stroke, { width = 1, dash } = {}) =>
  `<line x1="${round(x1)}" y1="${round(y1)}" x2="${round(x2)}" y2="${round(y2)}" stroke="${stroke}" ` +
  `stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''} fill="none"/>`;

function svgRect(x, y, width, height, fill, { opacity, title } = {}) {
  const attrs = `x="${round(x)}" y="${round(y)}" width="${round(width)}" height="${round(height)}" fill="${fill}"` +
    (opacity === undefined ? '' : ` fill-opacity="${opacity}"`) + ' stroke="none"';
  return title === undefined ? `<rect ${attrs}/>` : `<rect ${attrs}><title>${xml(title)}</title></rect>`;
}

// "2025-01-15 09:30 UTC", or the string as given when it is not a date.
function displayDate(value) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value ?? '');
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const WIDTH = 1200;
const MARGIN = { left: 72, right: 24 };
const PLOT_HEIGHT = 300;
const LABEL_SIZE = 11;
const LABEL_ANGLE = 35;
const DEGREE = Math.PI / 180;

function renderSvg(report) {
  const { meta } = report;
  const machine = meta.machine ?? {};
  const subtitle = [
    displayDate(meta.date),
    machine.cpu && `${machine.cpu}, ${plural(machine.cores ?? '?', 'core')}`,
    machine.os,
    machine.node && `Node ${machine.node}`,
    meta.quick ? 'quick run' : 'full run',
  ].filter(Boolean).join(' · ');

  const parts = [
    svgRect(0, 0, WIDTH, 0, '#ffffff'),
    svgText(WIDTH / 2, 30, 'conv1x1 benchmark: 1×1 convolution throughput (GFLOP/s, higher is better)',
      { size: 20, anchor: 'middle', weight: 'bold' }),
    svgText(WIDTH / 2, 52, subtitle, { size: 13, anchor: 'middle', fill: '#444' }),
    svgText(WIDTH / 2, 70, `${meta.command ?? ''} — bars: median; whiskers: p10–p90`,
      { size: 11, anchor: 'middle', fill: '#666' }),
  ];
  let top = 90;
  for (const panel of report.panels) {
    const { svg, height } = renderPanel(report, panel, top);
    parts.push(svg);
    top += height + 20;
  }
  const height = Math.ceil(top);
  parts[0] = svgRect(0, 0, WIDTH, height, '#ffffff');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}"` +
      ' font-family="sans-serif">',
    `<title>${xml(`conv1x1 benchmark — ${displayDate(meta.date)}`)}</title>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function renderPanel(report, panel, top) {
  const out = [];
  const competitors = panel.competitors.filter((competitor) =>
    report.shapes.some((shape) => report.cell(shape.id, competitor.id)));
  const { plotLeft, plotWidth, slot, rotate, longest } = xLayout(report.shapes);

  out.push(svgText(plotLeft, top + 16, `${plural(panel.threads, 'thread')}`, { size: 16, weight: 'bold' }));

  // Legend: swatch + label, wrapped onto as many rows as it needs.
  let legendX = plotLeft + 110;
  let legendY = top + 4;
  for (const competitor of competitors) {
    const label = competitor.ours ? `${competitor.label} (ours)` : competitor.label;
    const width = 18 + textWidth(label, 12) + 22;
    if (legendX + width > WIDTH - MARGIN.right) {
      legendX = plotLeft + 110;
      legendY += 20;
    }
    out.push(svgRect(legendX, legendY, 12, 12, report.colours.get(competitor.label)));
    out.push(svgText(legendX + 18, legendY + 11, label, { size: 12 }));
    legendX += width;
  }

  const plotTop = legendY + 34;
  const plotBottom = plotTop + PLOT_HEIGHT;

  // Y scale: room for the tallest whisker and the peak line with its label.
  const values = [];
  for (const shape of report.shapes) {
    for (const competitor of competitors) {
      const cell = report.cell(shape.id, competitor.id);
      if (cell) values.push(cell.gflops, whiskers(cell, shape)?.[1] ?? 0);
    }
  }
  if (Number.isFinite(panel.peak)) values.push(panel.peak * 1.08);
  const step = niceStep(Math.max(1e-9, ...values) * 1.02);
  const yMax = Math.ceil((Math.max(1e-9, ...values) * 1.02) / step) * step;
  const y = (value) => plotBottom - (Math.max(0, value) / yMax) * PLOT_HEIGHT;

  // Alternate shading per shape group, with the group's name along the top of the plot.
  let start = 0;
  let groupIndex = 0;
  report.shapes.forEach((shape, i) => {
    if (report.shapes[i + 1]?.group === shape.group) return;
    const x0 = plotLeft + start * slot;
    const x1 = plotLeft + (i + 1) * slot;
    if (groupIndex++ % 2) {
      out.push(svgRect(x0, plotTop, x1 - x0, PLOT_HEIGHT, '#f2f2f2'));
    }
    if (shape.group) {
      out.push(svgText((x0 + x1) / 2, plotTop - 6, fitText(shape.group, x1 - x0, 11),
        { size: 11, anchor: 'middle', fill: '#666' }));
    }
    start = i + 1;
  });

  // Gridlines and y ticks.
  for (let tick = 0; tick <= yMax + step / 1000; tick += step) {
    const ty = y(tick);
    out.push(svgLine(plotLeft, ty, plotLeft + plotWidth, ty, tick === 0 ? '#333' : '#dddddd'));
    out.push(svgText(plotLeft - 6, ty + 4, fmtTick(tick, step), { size: 11, anchor: 'end', fill: '#444' }));
  }
  out.push(svgLine(plotLeft, plotTop, plotLeft, plotBottom, '#333'));
  out.push(svgText(plotLeft - 46, (plotTop + plotBottom) / 2, 'GFLOP/s', { size: 12, anchor: 'middle', rotate: -90 }));

  // Bars, whiskers and a marker for each missing pair.
  const inner = slot * 0.8;
  const barWidth = inner / Math.max(1, competitors.length);
  report.shapes.forEach((shape, i) => {
    const groupLeft = plotLeft + i * slot + (slot - inner) / 2;
    competitors.forEach((competitor, j) => {
      const x = groupLeft + j * barWidth;
      const cell = report.cell(shape.id, competitor.id);
      if (!cell) {
        out.push(svgText(x + barWidth / 2 + 3, plotBottom - 4, 'n/a', { size: 10, fill: '#888', rotate: -90 }));
        return;
      }
      const top = y(cell.gflops);
      const tip = `${shape.label} — ${competitor.label}: ${fmtGflops(cell.gflops)} GFLOP/s` +
        (Number.isFinite(cell.medianMs) ? `, median ${cell.medianMs.toPrecision(3)} ms` : '') +
        (Number.isFinite(cell.samples) ? `, ${cell.samples} samples` : '') +
        (cell.engine ? `, on ${cell.engine}` : '');
      out.push(svgRect(x + 0.5, top, Math.max(1, barWidth - 1), plotBottom - top,
        report.colours.get(competitor.label), { title: tip }));
      // A bar too short to read (an overhead shape beside big ones) carries its figure above it.
      if (plotBottom - top < 12 && barWidth >= 9) {
        out.push(svgText(x + barWidth / 2 + 3, top - 3, fmtGflops(cell.gflops),
          { size: 9, fill: '#444', rotate: -90 }));
      }
      const range = whiskers(cell, shape);
      if (range && barWidth >= 4) {
        const [cx, low, high] = [x + barWidth / 2, y(range[0]), y(range[1])].map(round);
        const cap = round(Math.min(6, barWidth / 3));
        const caps = `M${round(cx - cap)} ${low}h${2 * cap}M${round(cx - cap)} ${high}h${2 * cap}`;
        out.push(`<path d="M${cx} ${low}V${high}${caps}" stroke="#222" stroke-width="1" fill="none"/>`);
      }
    });
  });

  // Practical peak: dashed line across the plot, labelled at its right end.
  if (Number.isFinite(panel.peak)) {
    const py = y(panel.peak);
    out.push(svgLine(plotLeft, py, plotLeft + plotWidth, py, '#c00000', { width: 1.5, dash: '8 5' }));
    // A translucent backdrop keeps the label legible where it crosses a bar.
    const label = `${PEAK_LABEL}: ${fmtGflops(panel.peak)} GFLOP/s`;
    const labelWidth = textWidth(label, 12);
    out.push(svgRect(plotLeft + plotWidth - 8 - labelWidth, py - 19, labelWidth + 6, 17, '#ffffff', { opacity: 0.8 }));
    out.push(svgText(plotLeft + plotWidth - 4, py - 6, label, { size: 12, anchor: 'end', fill: '#c00000' }));
  }

  // X labels: horizontal when every label fits its slot, otherwise rotated and ending under the slot.
  report.shapes.forEach((shape, i) => {
    const cx = plotLeft + (i + 0.5) * slot;
    out.push(rotate
      ? svgText(cx + 4, plotBottom + 14, shape.label, { size: LABEL_SIZE, anchor: 'end', rotate: -LABEL_ANGLE })
      : svgText(cx, plotBottom + 16, shape.label, { size: LABEL_SIZE, anchor: 'middle' }));
  });
  const labelDepth = rotate ? longest * Math.sin(LABEL_ANGLE * DEGREE) + 22 : 26;

  return { svg: out.join('\n'), height: plotBottom + labelDepth - top };
}

// Labels rotate when the longest does not fit its slot; the plot then moves right far enough that the
// first label, which runs down and to the left, stays inside the picture.
function xLayout(shapes) {
  const longest = Math.max(0, ...shapes.map((shape) => textWidth(shape.label, LABEL_SIZE)));
  const count = Math.max(1, shapes.length);
  let plotLeft = MARGIN.left;
  let slot = (WIDTH - plotLeft - MARGIN.right) / count;
  const rotate = longest > slot - 4;
  if (rotate) {
    plotLeft = Math.max(plotLeft, longest * Math.cos(LABEL_ANGLE * DEGREE) - slot / 2 + 8);
    slot = (WIDTH - plotLeft - MARGIN.right) / count;
  }
  return { plotLeft, plotWidth: slot * count, slot, rotate, longest };
}

// p10/p90 times as a GFLOP/s range (the slower time gives the lower figure), when the shape's flops are known.
function whiskers(cell, shape) {
  if (!(shape.flops > 0 && cell.p10Ms > 0 && cell.p90Ms > 0)) return undefined;
  return [shape.flops / cell.p90Ms / 1e6, shape.flops / cell.p10Ms / 1e6];
}

// Just enough decimals to show the step (2.5 → one, 0.25 → two).
function fmtTick(value, step) {
  let decimals = 0;
  while (decimals < 6 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-9) decimals++;
  return value.toFixed(decimals);
}

function fitText(text, width, size) {
  const max = Math.floor(width / (size * 0.56));
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`;
}
