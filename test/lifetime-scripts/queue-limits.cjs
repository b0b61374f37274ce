// The queue's limits. `environment`: what CONV1X1_MAX_QUEUED_CALLS / _BYTES set at startup, read back
// through backend().queue, and one call more than the limit rejected with ERR_QUEUE_FULL while the
// others resolve. `api`: setQueueLimits() read back, the 9th of 9 concurrent calls refused under
// { calls: 8 }, the byte limit (a single call larger than it still runs when nothing else is in
// flight), and the errors setQueueLimits() throws for bad arguments.
//   node queue-limits.cjs environment|api
'use strict';
const { lib, report, tensor, same, thrown } = require('./common.cjs');

const C = 32, H = 28, W = 28;
const layer = new lib.Conv1x1({ inChannels: C, outChannels: C, weight: tensor([C, C], 111) });
const x = tensor([1, C, H, W], 112);
const expected = layer.forward(x).data;
const callBytes = 2 * C * H * W * 4;  // an input snapshot and a new output, as the facade counts a call

// Launches n calls at once; counts the outcomes.
async function concurrent(n) {
  const outcomes = await Promise.all(Array.from({ length: n }, () => layer.forwardAsync(x).then(
    (y) => (same(y.data, expected) ? 'served' : 'wrong'),
    (error) => (error instanceof lib.Conv1x1Error ? error.code : `${error?.name} ${error?.code}`))));
  const counts = {};
  for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
  return { counts, last: outcomes[n - 1] };
}

// Startup limits (CONV1X1_MAX_QUEUED_*): read back, and n + 1 concurrent calls (n = the call limit,
// at most 16 calls launched) against them.
async function environmentMode() {
  const atStart = lib.backend().queue;
  const launched = Math.min(atStart.maxCalls + 1, 16);
  report({
    environment: { calls: process.env.CONV1X1_MAX_QUEUED_CALLS ?? null, bytes: process.env.CONV1X1_MAX_QUEUED_BYTES ?? null },
    atStart, callBytes, launched, outcome: await concurrent(launched), final: lib.backend().queue,
  });
}

async function apiMode() {
  lib.setQueueLimits({ calls: 8 });
  const afterCalls8 = lib.backend().queue;
  const nine = await concurrent(9);
  // The message of a refusal, with 8 calls holding the queue.
  const held = Array.from({ length: 8 }, () => layer.forwardAsync(x));
  const queueWhileHeld = lib.backend().queue;
  const refusal = await layer.forwardAsync(x).then(() => null, (e) => ({ name: e.name, code: e.code, message: e.message, isConv1x1Error: e instanceof lib.Conv1x1Error }));
  await Promise.all(held);
  lib.setQueueLimits({ calls: 64, bytes: 4 * callBytes });
  const afterBytes = lib.backend().queue;
  const byBytes = await concurrent(8);
  lib.setQueueLimits({ bytes: 1 });
  const aloneOverBytes = await concurrent(1);
  const bad = {};
  for (const [label, value] of [
    ['undefined', undefined], ['null', null], ['5', 5], ['"8"', '8'], ['[8]', [8]],
    ['{ calls: 0 }', { calls: 0 }], ['{ calls: -1 }', { calls: -1 }], ['{ calls: 1.5 }', { calls: 1.5 }],
    ['{ calls: NaN }', { calls: NaN }], ['{ calls: Infinity }', { calls: Infinity }], ['{ calls: 2 ** 53 }', { calls: 2 ** 53 }],
    ['{ calls: "8" }', { calls: '8' }], ['{ bytes: 0 }', { bytes: 0 }], ['{ bytes: 10n }', { bytes: 10n }], ['{ call: 8 }', { call: 8 }],
  ]) {
    const e = thrown(() => lib.setQueueLimits(value));
    bad[label] = typeof e === 'string' ? e : { name: e.name, code: e.code, message: e.message };
  }
  const afterBad = lib.backend().queue;
  lib.setQueueLimits({ calls: 1024, bytes: 2 ** 30 });
  report({ callBytes, afterCalls8, nine, queueWhileHeld, refusal, afterBytes, byBytes, aloneOverBytes, bad, afterBad, final: lib.backend().queue });
}

(process.argv[2] === 'environment' ? environmentMode() : apiMode()).catch((error) => { console.error(error); process.exitCode = 1; });
