// Scale-out throughput: the same job (default 1,000 input files of [8, 32, 56, 56], 2 files per
// shard) run by 1 worker process and by 2, each single-threaded (--threads 1), against a local
// redis-server. Items/s is counted from the jobs' own start and finish times in Redis, so process
// start-up and model loading are left out. The two set-ups alternate; medians over --reps runs.
// Run: `node bench/scale.mjs [--reps 3] [--files 1000] [--workers 2] [--batch 1] [--node-flags=--single-threaded-gc]`
// after `npm ci` (needs redis-server). Each run also prints how many cores the workers got.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const { saveNpy } = require('../dist/index.js');
const { submitJobs } = require('../dist/scale/index.js');
const { Queue } = require('bullmq');
const { startRedis } = require('../scripts/redis-server.cjs');
const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    files: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '2' },
    'items-per-file': { type: 'string', default: '8' },
    'shard-size': { type: 'string', default: '2' },
    batch: { type: 'string', default: '1' },
    // e.g. --node-flags=--single-threaded-gc: V8 then collects garbage on the worker's one thread too
    'node-flags': { type: 'string', default: '' },
  },
});
const reps = Number(values.reps), fileCount = Number(values.files), many = Number(values.workers);
const itemsPerFile = Number(values['items-per-file']), shardSize = Number(values['shard-size']), batch = Number(values.batch);

const root = mkdtempSync(path.join(tmpdir(), 'conv1x1-scale-bench-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** A few distinct input files behind many symlinks: the set stays in the page cache. */
function makeInputs() {
  const sources = path.join(root, 'sources'), inputs = path.join(root, 'inputs');
  mkdirSync(sources);
  mkdirSync(inputs);
  let state = 7;
  for (let s = 0; s < 8; s++) {
    const data = new Float32Array(itemsPerFile * 32 * 56 * 56);
    for (let j = 0; j < data.length; j++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      data[j] = state / 2 ** 31 - 1;
    }
    saveNpy(path.join(sources, `s${s}.npy`), { data, shape: [itemsPerFile, 32, 56, 56] });
  }
  for (let i = 0; i < fileCount; i++) symlinkSync(path.join(sources, `s${i % 8}.npy`), path.join(inputs, `f${String(i).padStart(5, '0')}.npy`));
  return inputs;
}

function startWorker(url, queue, name) {
  const nodeFlags = values['node-flags'].split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeFlags, cli, 'worker', '--redis', url, '--queue', queue, '--name', name, '--threads', '1', '--concurrency', '1'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (log += chunk));
  const ready = new Promise((resolve, reject) => {
    const timer = setInterval(() => log.includes('taking jobs') && (clearInterval(timer), resolve()), 20);
    child.once('exit', (code) => (clearInterval(timer), reject(new Error(`worker exited (${code}):\n${log}`))));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, ready, exited };
}

/** CPU seconds a process has used (Linux /proc), to show how much of a core each worker got. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;  // utime + stime, in clock ticks of 1/100 s
}

async function run(redis, inputs, workerCount, label) {
  const queueName = `bench-${label}`;
  const out = path.join(root, `out-${label}`);
  const workers = Array.from({ length: workerCount }, (_, i) => startWorker(redis.url, queueName, `bench-${label}-${i}`));
  await Promise.all(workers.map((worker) => worker.ready));
  const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: redis.port } });
  try {
    const started = performance.now();
    const summary = await submitJobs({ redis: redis.url, queue: queueName, input: inputs, out, shardSize, batch });
    for (;;) {
      const counts = await queue.getJobCounts('completed', 'failed');
      if (counts.completed + counts.failed === summary.shards) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const jobs = await queue.getJobs(['completed'], 0, -1);
    const items = jobs.reduce((sum, job) => sum + job.returnvalue.items, 0);
    const first = Math.min(...jobs.map((job) => job.processedOn));
    const last = Math.max(...jobs.map((job) => job.finishedOn));
    const cpu = workers.reduce((sum, worker) => sum + cpuSeconds(worker.child.pid), 0);
    const wall = (performance.now() - started) / 1000;
    return { items, seconds: (last - first) / 1000, itemsPerSecond: items / ((last - first) / 1000), coresUsed: cpu / wall };
  } finally {
    await queue.close();
    for (const worker of workers) worker.child.kill('SIGTERM');
    await Promise.all(workers.map((worker) => worker.exited));
    rmSync(out, { recursive: true, force: true });
  }
}

const redis = await startRedis(root);
try {
  const inputs = makeInputs();
  console.log(`scale-out: ${fileCount} files × ${itemsPerFile} items [32, 56, 56], ${shardSize} files per shard; ` +
    `1 vs ${many} worker processes, each --threads 1${values['node-flags'] ? `, node ${values['node-flags']}` : ''}; ${reps} repetitions, alternating`);
  const one = [], several = [];
  for (let rep = 0; rep < reps; rep++) {
    // Alternate which set-up goes first, so a drift in the machine's load hits both alike.
    const order = rep % 2 === 0 ? [1, many] : [many, 1];
    for (const count of order) {
      const result = await run(redis, inputs, count, `${rep}-${count}`);
      (count === 1 ? one : several).push(result.itemsPerSecond);
      console.log(`  rep ${rep + 1}: ${count} worker(s): ${result.items} items in ${result.seconds.toFixed(2)} s = ` +
        `${result.itemsPerSecond.toFixed(1)} items/s; the workers used ${result.coresUsed.toFixed(2)} cores; load average ${loadavg()[0].toFixed(1)}`);
    }
  }
  const ratios = several.map((value, i) => value / one[i]);
  console.log(`median: 1 worker ${median(one).toFixed(1)} items/s, ${many} workers ${median(several).toFixed(1)} items/s, ` +
    `ratio ${(median(several) / median(one)).toFixed(2)}× (per-rep ratios ${ratios.map((r) => r.toFixed(2)).join(', ')})`);
} finally {
  await redis.stop();
  rmSync(root, { recursive: true, force: true });
}
