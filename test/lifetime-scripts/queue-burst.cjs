// The bounded queue under a burst: 10,000 concurrent forwardAsync calls on a 56×56 64→64 layer,
// launched in one synchronous loop, in each of <rounds> rounds (node --expose-gc). Every call must
// either resolve with the exact sync result or reject with Conv1x1Error ERR_QUEUE_FULL; reports both
// counts, RSS before / peak / after gc per round, and the queue once everything has settled.
//   node --expose-gc queue-burst.cjs [rounds] [calls]
'use strict';
const { lib, report, tensor, same, nextTurn, sleep } = require('./common.cjs');

const rounds = Number(process.argv[2] ?? 1);
const CALLS = Number(process.argv[3] ?? 10000);
const MB = 2 ** 20;
const C = 64, H = 56, W = 56;
const layer = new lib.Conv1x1({ inChannels: C, outChannels: C, weight: tensor([C, C], 101), bias: tensor([C], 102).data, activation: 'relu' });
const x = tensor([1, C, H, W], 103);
const expected = layer.forward(x).data;

async function settledRss() {
  for (let i = 0; i < 3; i++) { globalThis.gc(); await nextTurn(); }
  await sleep(50);
  globalThis.gc();
  return process.memoryUsage().rss;
}

async function burst() {
  const before = await settledRss();
  let peak = before;
  const track = () => { peak = Math.max(peak, process.memoryUsage().rss); };
  const timer = setInterval(track, 5);
  const counts = { served: 0, queueFull: 0, wrong: 0, other: [] };
  let peakQueue = 0;
  const started = performance.now();
  const calls = [];
  for (let i = 0; i < CALLS; i++) {
    calls.push(layer.forwardAsync(x).then((y) => {
      track();
      if (same(y.data, expected)) counts.served++; else counts.wrong++;
    }, (error) => {
      if (error instanceof lib.Conv1x1Error && error.code === 'ERR_QUEUE_FULL') counts.queueFull++;
      else if (counts.other.length < 5) counts.other.push(`${error?.name} ${error?.code}: ${error?.message}`);
      else counts.other.push('…');
    }));
    if ((i & 255) === 0) peakQueue = Math.max(peakQueue, lib.backend().queue.calls);
  }
  peakQueue = Math.max(peakQueue, lib.backend().queue.calls);
  const launchedMs = performance.now() - started;
  track();
  await Promise.all(calls);
  clearInterval(timer);
  track();
  const seconds = (performance.now() - started) / 1000;
  calls.length = 0;
  const after = await settledRss();
  return { ...counts, peakQueue, launchedMs, seconds, rssBeforeMB: before / MB, rssPeakMB: peak / MB, rssAfterMB: after / MB, queueAfter: lib.backend().queue };
}

async function main() {
  const results = [];
  for (let r = 0; r < rounds; r++) results.push(await burst());
  report({ calls: CALLS, limits: { calls: lib.backend().queue.maxCalls, bytes: lib.backend().queue.maxBytes }, callBytes: C * H * W * 4, rounds: results });
}

main().catch((error) => { console.error(error); process.exitCode = 1; });
