// child_process.spawn in a loop (50 children, up to 5 at a time) while convolutions run on every
// thread: async calls kept in flight back to back, and a sync call between spawns. fork() while the
// compute threads (and, with OpenBLAS, its own idle pool and its pthread_atfork handlers) are busy
// must neither hang nor crash, and every result must stay exact.
//   node spawn-during-compute.cjs <engine: blas|builtin>
'use strict';
const { spawn } = require('node:child_process');
const { lib, report, tensor, same, useEngine } = require('./common.cjs');

const engine = process.argv[2] ?? 'builtin';
if (!useEngine(engine)) {
  report({ engine, skipped: `engine ${engine} is not available` });
  process.exit(0);
}
lib.setThreads(lib.backend().cores);

const SPAWNS = 50, SPAWNS_AT_ONCE = 5, ASYNC_IN_FLIGHT = 4;
const C = 128, H = 56, W = 56;
const x = tensor([1, C, H, W], 81);
const layer = new lib.Conv1x1({ inChannels: C, outChannels: C, weight: tensor([C, C], 82), bias: tensor([C], 83).data, activation: 'relu' });
const expected = layer.forward(x).data;
const small = tensor([4, 64, 14, 14], 84), smallWeight = tensor([256, 64], 85);
const smallExpected = lib.conv1x1(small, smallWeight).data;

async function main() {
  const layerName = layer.backend(x.shape);
  let computing = true, asyncCalls = 0, syncCalls = 0, wrong = 0;
  // Keeps ASYNC_IN_FLIGHT calls running until the spawning is over.
  const lanes = Array.from({ length: ASYNC_IN_FLIGHT }, async () => {
    while (computing) {
      const y = await layer.forwardAsync(x);
      asyncCalls++;
      if (!same(y.data, expected)) wrong++;
    }
  });
  const exits = [];
  const spawnOne = () => new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    child.once('error', (error) => resolve({ error: String(error) }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const started = performance.now();
  for (let i = 0; i < SPAWNS; i += SPAWNS_AT_ONCE) {
    const batch = Array.from({ length: Math.min(SPAWNS_AT_ONCE, SPAWNS - i) }, spawnOne);
    // A sync call on the main thread while the children start.
    if (!same(lib.conv1x1(small, smallWeight).data, smallExpected)) wrong++;
    syncCalls++;
    exits.push(...(await Promise.all(batch)));
  }
  computing = false;
  await Promise.all(lanes);
  const info = lib.backend();
  report({
    engine, backend: info.name, layer: layerName, threads: info.threads, cores: info.cores,
    spawns: exits.length, childFailures: exits.filter((e) => e.code !== 0 || e.signal),
    asyncCalls, syncCalls, wrong, seconds: (performance.now() - started) / 1000, queueAfter: info.queue,
  });
}

main().catch((error) => { console.error(error); process.exitCode = 1; });
