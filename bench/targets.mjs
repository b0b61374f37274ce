// The performance targets, checked against one run (the results object bench/run.mjs writes) at 1 and
// at 2 threads; a ratio is the median of the per-round ratios where the results carry their rounds.
// Each target is PASS, FAIL or NOT MEASURED: a peer or a figure the run lacks makes a target NOT
// MEASURED, never a pass, unless what was measured already fails it. A --quick run checks the shapes
// it has.

import { median } from './stats.mjs';

export const TARGET_THREADS = [1, 2];

/** Competitor ids, as bench/competitors.mjs names them. */
export const ID = {
  default: (threads) => `conv1x1-auto-out-${threads}t`,
  blas: (threads) => `conv1x1-blas-out-${threads}t`,
  builtin: (threads) => `conv1x1-builtin-out-${threads}t`,
  sgemm: (threads) => `raw-sgemm-${threads}t`,
  ort: (threads) => `onnxruntime-${threads}t`,
};

/** Layers so small that a call's fixed cost, not its arithmetic, decides the time: limit in µs per call. */
export const OVERHEAD_LIMIT_US = { '8² 16→16': 1.5, 'Linear 512→512': 12 };
export const COMPUTE_BOUND = ['ResNet 14² 1024→256', 'ResNet 7² 2048→512', 'ResNet 7² 512→2048', 'N=16 14² 256→1024',
  'N=32 7² 512→2048'];
const MIN_RATIO_VS_PEERS = 1.0;
const MIN_GEOMEAN = 1.3;
const MIN_BUILTIN_VS_SGEMM = 0.9;
const MIN_PEAK_FRACTION = 0.95;
const MIN_OVERHEAD_SPEEDUP_VS_ORT = 5;

export const PASS = 'PASS';
export const FAIL = 'FAIL';
export const NOT_MEASURED = 'NOT MEASURED';

const fmt = (value, digits = 2) => value.toFixed(digits);
const fmtRatio = (value) => `${fmt(value)}×`;
const threadsText = (threads) => `${threads} thread${threads === 1 ? '' : 's'}`;

// Grouped shapes are several GEMMs, so raw sgemm does not run on them; older results carry no `groups`.
const groupsOf = (shape) => shape.groups ?? Number(/\bg(\d+)$/.exec(shape.label ?? '')?.[1] ?? 1);

// FAIL if any cell fails; otherwise NOT MEASURED if there is no cell or any cell lacks a figure.
function overall(cells) {
  if (cells.some((cell) => cell.status === FAIL)) return FAIL;
  if (!cells.length || cells.some((cell) => cell.status === NOT_MEASURED)) return NOT_MEASURED;
  return PASS;
}

// The cells of one status as "label at N threads: text", the first few only: the report's table has all.
const LISTED = 8;
function listCells(cells, status) {
  const matching = cells.filter((cell) => cell.status === status);
  const names = matching.slice(0, LISTED).map((cell) => `${cell.label} at ${threadsText(cell.threads)}` +
    (cell.text ? `: ${cell.text}` : ''));
  if (matching.length > LISTED) names.push(`${matching.length - LISTED} more`);
  return { count: matching.length, names };
}

function summarize(cells, passText) {
  const failed = listCells(cells, FAIL);
  const missing = listCells(cells, NOT_MEASURED);
  const parts = [];
  if (failed.count) parts.push(`${failed.count} of ${cells.length} cells miss: ${failed.names.join('; ')}`);
  if (missing.count) parts.push(`${missing.count} not measured: ${missing.names.join('; ')}`);
  if (!failed.count && !missing.count && passText) parts.push(passText);
  return parts.join('. ');
}

// Our figure against the fastest of `refs`, as the median over rounds of each round's ratio when every
// result carries its rounds (the rounds interleave the competitors, so a drift of the machine's speed
// hits both sides of a round's ratio alike); else the ratio of the medians.
function ratioTo(ours, refs) {
  const rounds = ours.roundMs?.length ?? 0;
  if (rounds >= 3 && refs.every((r) => r.roundMs?.length === rounds)) {
    return median(ours.roundMs.map((ms, i) => Math.min(...refs.map((r) => r.roundMs[i])) / ms));
  }
  return ours.gflops / Math.max(...refs.map((r) => r.gflops));
}

export function checkTargets(results) {
  const byKey = new Map((results.results ?? []).map((r) => [`${r.shape} × ${r.competitor}`, r]));
  const cell = (shape, id) => byKey.get(`${shape.id} × ${id}`);
  const shapes = results.shapes ?? [];
  const competitorIds = new Set((results.competitors ?? []).map((c) => c.id));
  const label = (id) => (results.competitors ?? []).find((c) => c.id === id)?.label ?? id;
  const peak = results.meta?.peakGflops ?? {};
  const isOverhead = (shape) => shape.label in OVERHEAD_LIMIT_US;
  // Ours in the run but without a figure on a cell: it was skipped (a wrong output, an error), a failure.
  const oursMissing = (base, id) => (competitorIds.has(id)
    ? { ...base, status: FAIL, text: `${label(id)} has no result` }
    : { ...base, status: NOT_MEASURED, text: `${id} not in this run` });
  const ourCells = [];  // every (shape, threads) with its default figure, for (a) and (b)

  // (a) default sync out against the best of onnxruntime-node and raw sgemm.
  const a = [];
  for (const shape of shapes.filter((s) => !isOverhead(s))) {
    for (const threads of TARGET_THREADS) {
      const ours = cell(shape, ID.default(threads));
      const base = { shape: shape.id, label: shape.label, threads };
      if (!ours) {
        a.push(oursMissing(base, ID.default(threads)));
        continue;
      }
      const expected = [ID.ort(threads), ...(groupsOf(shape) === 1 ? [ID.sgemm(threads)] : [])];
      const measured = expected.map((id) => ({ id, result: cell(shape, id) })).filter((p) => p.result);
      const missing = expected.filter((id) => !cell(shape, id)).map((id) => (id.startsWith('raw-sgemm') ? 'raw sgemm' : 'onnxruntime-node'));
      if (!measured.length) {
        a.push({ ...base, status: NOT_MEASURED, text: `${missing.join(' and ')} not measured` });
        continue;
      }
      const best = measured.reduce((x, y) => (y.result.gflops > x.result.gflops ? y : x));
      const ratio = ratioTo(ours, measured.map((m) => m.result));
      const against = best.id.startsWith('raw-sgemm') ? 'sgemm' : 'ort';
      const status = ratio < MIN_RATIO_VS_PEERS ? FAIL : missing.length ? NOT_MEASURED : PASS;
      const text = `${fmtRatio(ratio)} vs ${against}` + (missing.length ? `, ${missing.join(' and ')} not measured` : '');
      a.push({ ...base, status, value: ratio, against, text });
      ourCells.push({ ratio, complete: !missing.length });
    }
  }

  // (b) geometric mean of (a)'s ratios. With a peer missing a ratio is an upper bound, so a low mean still fails.
  const ratios = ourCells.map((c) => c.ratio);
  const geomean = ratios.length ? Math.exp(ratios.reduce((sum, r) => sum + Math.log(r), 0) / ratios.length) : undefined;
  const aIncomplete = a.some((c) => c.status !== PASS && c.value === undefined) || ourCells.some((c) => !c.complete);
  const perThreads = TARGET_THREADS.map((threads) => {
    const rs = a.filter((c) => c.threads === threads && c.value !== undefined).map((c) => c.value);
    return rs.length ? `${threadsText(threads)} ${fmtRatio(Math.exp(rs.reduce((s, r) => s + Math.log(r), 0) / rs.length))}` : null;
  }).filter(Boolean);
  let bStatus;
  if (geomean === undefined) bStatus = NOT_MEASURED;
  else if (geomean < MIN_GEOMEAN) bStatus = FAIL;
  else bStatus = aIncomplete ? NOT_MEASURED : PASS;
  const bText = geomean === undefined
    ? 'no ratio measured'
    : `${fmtRatio(geomean)} over ${ratios.length} cells (${perThreads.join(', ')})` +
      (aIncomplete ? '; some cells lack a peer or a figure, see (a)' : '');

  // (c) builtin sync out against raw sgemm; grouped shapes against conv1x1's own BLAS path. The
  // overhead layers are judged by (e) instead, as in (a): a JS call cannot match a C loop's 0.6 µs.
  const c = [];
  const blasInRun = TARGET_THREADS.some((threads) => competitorIds.has(ID.sgemm(threads)) || competitorIds.has(ID.blas(threads)));
  for (const shape of blasInRun ? shapes.filter((s) => !isOverhead(s)) : []) {
    for (const threads of TARGET_THREADS) {
      const base = { shape: shape.id, label: shape.label, threads };
      const [refId, refName] = groupsOf(shape) === 1 ? [ID.sgemm(threads), 'sgemm'] : [ID.blas(threads), 'conv1x1 BLAS'];
      const builtin = cell(shape, ID.builtin(threads));
      const ref = cell(shape, refId);
      if (!builtin) {
        c.push(oursMissing(base, ID.builtin(threads)));
      } else if (!ref) {
        c.push({ ...base, status: NOT_MEASURED, text: `${refName} not measured` });
      } else {
        const ratio = ratioTo(builtin, [ref]);
        c.push({ ...base, status: ratio < MIN_BUILTIN_VS_SGEMM ? FAIL : PASS, value: ratio, against: refName,
          text: `${fmtRatio(ratio)} vs ${refName}` });
      }
    }
  }

  // (d) compute-bound cells against the practical peak at the same thread count.
  const d = [];
  for (const shape of shapes.filter((s) => COMPUTE_BOUND.includes(s.label))) {
    for (const threads of TARGET_THREADS) {
      const base = { shape: shape.id, label: shape.label, threads };
      const ours = cell(shape, ID.default(threads));
      // The peak measured in the shape's own rounds, next to ours, when the run has it.
      const probes = results.peakRounds?.[shape.id]?.[`threads${threads}`];
      const paired = ours?.roundMs && probes?.length === ours.roundMs.length && probes.length >= 3;
      const top = paired ? median(probes) : peak[`threads${threads}`];
      if (!ours) {
        d.push(oursMissing(base, ID.default(threads)));
      } else if (!Number.isFinite(top) || top <= 0) {
        d.push({ ...base, status: NOT_MEASURED, text: 'practical peak not measured' });
      } else {
        const fraction = paired
          ? median(ours.roundMs.map((ms, i) => shape.flops / ms / 1e6 / probes[i]))
          : ours.gflops / top;
        d.push({ ...base, status: fraction < MIN_PEAK_FRACTION ? FAIL : PASS, value: fraction,
          text: paired
            ? `${Math.round(fraction * 100)}% of the peak in the same rounds (medians: ${fmt(ours.gflops, 1)}, peak ${fmt(top, 1)} GFLOP/s)`
            : `${Math.round(fraction * 100)}% (${fmt(ours.gflops, 1)} of ${fmt(top, 1)} GFLOP/s)` });
      }
    }
  }

  // (e) overhead layers: µs per call, and the margin over onnxruntime-node.
  const e = [];
  for (const shape of shapes.filter(isOverhead)) {
    const limit = OVERHEAD_LIMIT_US[shape.label];
    for (const threads of TARGET_THREADS) {
      const base = { shape: shape.id, label: shape.label, threads };
      const ours = cell(shape, ID.default(threads));
      if (!ours) {
        e.push(oursMissing(base, ID.default(threads)));
        continue;
      }
      const us = ours.medianMs * 1000;
      const ort = cell(shape, ID.ort(threads));
      const speedup = ort ? ort.medianMs / ours.medianMs : undefined;
      const fast = us <= limit;
      const status = !fast || (speedup !== undefined && speedup < MIN_OVERHEAD_SPEEDUP_VS_ORT) ? FAIL
        : speedup === undefined ? NOT_MEASURED : PASS;
      e.push({ ...base, status, value: us, speedup,
        text: `${fmt(us)} µs (limit ${limit}), ` + (speedup === undefined ? 'onnxruntime-node not measured' : `${fmt(speedup, 1)}× faster than ort`) });
    }
  }

  const whyNoBlas = blasInRun ? '' : 'no BLAS in this run: raw sgemm not measured';
  const items = [
    { id: 'a', title: `conv1x1 default sync out ≥ best of onnxruntime-node and raw cblas_sgemm on every cell but the overhead layers`,
      status: overall(a), summary: summarize(a, `all ${a.length} cells ≥ ${fmt(MIN_RATIO_VS_PEERS, 1)}×`), cells: a },
    { id: 'b', title: `geometric mean of (a)'s ratios ≥ ${MIN_GEOMEAN}×`, status: bStatus, summary: bText, value: geomean, cells: [] },
    { id: 'c', title: `conv1x1 builtin sync out ≥ ${MIN_BUILTIN_VS_SGEMM} × raw cblas_sgemm on every cell but the overhead layers (grouped shapes: vs conv1x1 BLAS sync out, as raw sgemm does not run them)`,
      status: overall(c), summary: whyNoBlas || summarize(c, `all ${c.length} cells ≥ ${MIN_BUILTIN_VS_SGEMM}×`), cells: c },
    { id: 'd', title: `compute-bound cells ≥ ${Math.round(MIN_PEAK_FRACTION * 100)}% of the practical peak (2048³ sgemm, same threads)`,
      status: overall(d), summary: d.length ? summarize(d, `all ${d.length} cells ≥ ${Math.round(MIN_PEAK_FRACTION * 100)}%`) : 'no compute-bound shape in this run', cells: d },
    { id: 'e', title: `overhead layers: sync out median ≤ ${Object.entries(OVERHEAD_LIMIT_US).map(([l, us]) => `${us} µs (${l})`).join(', ')}, and ≥ ${MIN_OVERHEAD_SPEEDUP_VS_ORT}× faster than onnxruntime-node`,
      status: overall(e), summary: e.length ? summarize(e, e.map((x) => `${x.label} at ${threadsText(x.threads)}: ${x.text}`).join('; ')) : 'no overhead layer in this run', cells: e },
  ];
  const count = (status) => items.filter((t) => t.status === status).length;
  return {
    threads: TARGET_THREADS,
    quick: Boolean(results.meta?.quick),
    summary: `${count(PASS)} pass, ${count(FAIL)} fail, ${count(NOT_MEASURED)} not measured`,
    items,
  };
}

/** Plain lines for a console: one per target. */
export function targetLines(targets) {
  return targets.items.map((t) => `${t.id}. ${t.status}: ${t.title}${t.summary ? ` — ${t.summary}` : ''}`);
}
