#!/usr/bin/env node
// Load run of the example service over loopback: starts the server (or targets --url on this host),
// sends a bounded number of POST /v1/features requests at a fixed concurrency, checks every answer
// against the model run in this process, then runs the same batches in-process without HTTP and
// prints both throughputs and their ratio, and the CPU time each side spends per request (the server's
// from its /metrics). Exit code 1 when any request failed other than a 429/503.
//
//   npm run load -- [--requests 400] [--duration 60] [--concurrency 4] [--batch 8] [--size 56]
//                   [--format raw|npy] [--accept npy|json] [--threads N] [--max-in-flight N] [--model-concurrency N]
//                   [--model spec.json --weights file] [--url http://127.0.0.1:8080] [--no-baseline]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { backend, encodeNpy, loadModel, readNpy, setThreads, Tensor } from 'conv1x1';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVER = path.join(ROOT, 'dist', 'examples', 'server', 'main.js');
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

const { values: args } = parseArgs({
  strict: true,
  options: {
    url: { type: 'string' },
    requests: { type: 'string', default: '400' },
    duration: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '4' },
    batch: { type: 'string', default: '8' },
    size: { type: 'string', default: '56' },
    format: { type: 'string', default: 'raw' },
    accept: { type: 'string', default: 'npy' },
    threads: { type: 'string' },
    'max-in-flight': { type: 'string' },
    'model-concurrency': { type: 'string' },
    model: { type: 'string' },
    weights: { type: 'string' },
    'no-baseline': { type: 'boolean', default: false },
  },
});

function positive(name) {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer but is '${args[name]}'`);
  return value;
}
const requests = positive('requests');
const durationMs = positive('duration') * 1000;
const warmup = Number(args.warmup);
const concurrency = positive('concurrency');
const batch = positive('batch');
const size = positive('size');
if (!['raw', 'npy'].includes(args.format)) throw new Error(`--format must be raw or npy but is '${args.format}'`);
if (!['npy', 'json'].includes(args.accept)) throw new Error(`--accept must be npy or json but is '${args.accept}'`);
if (Boolean(args.model) !== Boolean(args.weights)) throw new Error('--model and --weights go together');

// The model, loaded here too: for the reference answer and the in-process baseline.
const specPath = args.model ?? path.join(ROOT, 'dist', 'models', 'default-head.json');
const weightsPath = args.weights ?? path.join(ROOT, 'dist', 'models', 'default-head.safetensors');
const spec = JSON.parse(readFileSync(specPath, 'utf8'));
const channels = spec.inputChannels ?? 32;

/** Deterministic inputs in [-1, 1). */
function inputs(count, seed) {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}
const shape = [batch, channels, size, size];
const input = new Tensor(inputs(batch * channels * size * size, 7), shape);
const body = args.format === 'npy'
  ? Buffer.from(encodeNpy(input))
  : Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength);
const headers = {
  'Content-Type': args.format === 'npy' ? 'application/x-npy' : 'application/octet-stream',
  'Content-Length': String(body.length),
  Accept: args.accept === 'json' ? 'application/json' : 'application/x-npy',
  ...(args.format === 'raw' ? { 'X-Shape': shape.join(',') } : {}),
};

// --- the server -----------------------------------------------------------------------------------

async function startServer() {
  const extra = [];
  if (args.threads) extra.push('--threads', args.threads);
  if (args['max-in-flight']) extra.push('--max-in-flight', args['max-in-flight']);
  if (args['model-concurrency']) extra.push('--model-concurrency', args['model-concurrency']);
  if (args.model) extra.push('--model', args.model, '--weights', args.weights);
  const child = spawn(process.execPath, [SERVER, '--port', '0', '--host', '127.0.0.1', ...extra], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk) => { output += chunk; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start in 30 s:\n${output}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    exited.then(({ code, signal }) => reject(new Error(`the server exited (${code ?? signal}) before listening:\n${output}`)));
  });
  return { url, stop: async () => { child.kill('SIGTERM'); return exited; } };
}

function checkLoopback(url) {
  const { hostname } = new URL(url);
  if (!LOOPBACK.has(hostname)) throw new Error(`--url ${url}: the load run only targets this machine (127.0.0.1, localhost, ::1)`);
}

// --- the client -----------------------------------------------------------------------------------

function request(agent, url, method, requestHeaders, requestBody) {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = http.request(url, { method, agent, headers: requestHeaders }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), ms: performance.now() - started }));
      res.on('error', (error) => resolve({ status: 0, error, ms: performance.now() - started }));
    });
    req.on('error', (error) => resolve({ status: 0, error, ms: performance.now() - started }));
    req.end(requestBody);
  });
}

/** Features from an answer, or why the answer is wrong. */
function features(answer) {
  if (args.accept === 'json') {
    const parsed = JSON.parse(answer.body.toString('utf8'));
    return { shape: parsed.shape, data: Float32Array.from(parsed.data) };
  }
  const bytes = new Uint8Array(answer.body.buffer, answer.body.byteOffset, answer.body.length);
  return readNpy(bytes.slice());
}

function wrongAnswer(answer, reference) {
  try {
    const got = features(answer);
    if (got.shape.join() !== reference.shape.join()) return `shape [${got.shape}] instead of [${reference.shape}]`;
    for (let i = 0; i < got.data.length; i++) {
      const expected = reference.data[i];
      if (!(Math.abs(got.data[i] - expected) <= 1e-4 + 1e-4 * Math.abs(expected))) {
        return `feature ${i} is ${got.data[i]} instead of ${expected}`;
      }
    }
    return null;
  } catch (error) {
    return `unreadable answer: ${error.message}`;
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function runLoad(url, reference, afterWarmup) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL('/v1/features', url).toString();
  const refused = new Map();  // status -> count, for the designed 429/503
  const failures = [];
  const latencies = [];
  let ok = 0;
  let sent = 0;
  let started = 0;
  let deadline = 0;

  const one = async (measured) => {
    const answer = await request(agent, target, 'POST', headers, body);
    if (answer.status === 200) {
      const wrong = wrongAnswer(answer, reference);
      if (wrong) failures.push(`200 with a wrong answer: ${wrong}`);
      else if (measured) {
        ok++;
        latencies.push(answer.ms);
      }
    } else if (answer.status === 429 || answer.status === 503) {
      if (measured) refused.set(answer.status, (refused.get(answer.status) ?? 0) + 1);
      // As a well-behaved client: wait as told before this worker's next request.
      const wait = Math.min(Number(answer.headers['retry-after']) || 1, 5);
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    } else {
      failures.push(answer.status === 0 ? `network error: ${answer.error.message}` : `${answer.status}: ${answer.body.toString('utf8').slice(0, 300)}`);
    }
  };

  // Warm-up: plans and packed weights for this shape, connections open.
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(warmup, 0)) }, async (_, worker) => {
    for (let i = worker; i < warmup; i += concurrency) await one(false);
  }));

  const before = await afterWarmup();
  const clientCpuBefore = process.cpuUsage();
  started = performance.now();
  deadline = started + durationMs;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (sent < requests && performance.now() < deadline) {
      sent++;
      await one(true);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { sent, ok, refused, failures, seconds, latencies, before, clientCpuSeconds: (clientCpu.user + clientCpu.system) / 1e6 };
}

async function scrape(url) {
  const answer = await request(undefined, new URL('/metrics', url).toString(), 'GET', {}, undefined);
  if (answer.status !== 200) throw new Error(`GET /metrics answered ${answer.status}`);
  const text = answer.body.toString('utf8');
  const value = (pattern) => {
    const match = new RegExp(`^${pattern} (\\S+)$`, 'm').exec(text);
    return match ? Number(match[1]) : NaN;
  };
  return {
    loopP99Ms: value('conv1x1_event_loop_delay_seconds\\{quantile="0\\.99"\\}') * 1000,
    loopMaxMs: value('conv1x1_event_loop_delay_seconds\\{quantile="1"\\}') * 1000,
    modelCalls: value('conv1x1_model_calls_limit'),
    modelCallCount: value('conv1x1_model_call_duration_seconds_count'),
    modelCallSeconds: value('conv1x1_model_call_duration_seconds_sum'),
    cpuSeconds: value('process_cpu_seconds_total'),
    backend: /^conv1x1_backend_info\{(.*)\} 1$/m.exec(text)?.[1] ?? 'unknown',
  };
}

// --- in-process, without HTTP ---------------------------------------------------------------------

async function inProcess(model, batches, calls) {
  // The server's way (forwardAsync, as many calls at once as the server runs) and a batch job's way
  // (sync forward into one reused output, which blocks the event loop).
  for (let i = 0; i < 3; i++) await model.forwardAsync(input);
  let next = 0;
  const cpuBefore = process.cpuUsage();
  let started = performance.now();
  await Promise.all(Array.from({ length: calls }, async () => {
    while (next++ < batches) await model.forwardAsync(input);
  }));
  const asyncSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const asyncCpuMsPerBatch = (cpu.user + cpu.system) / 1000 / batches;

  const out = Tensor.zeros(model.outputShape(shape));
  model.forward(input, out);
  started = performance.now();
  for (let i = 0; i < batches; i++) model.forward(input, out);
  const syncSeconds = (performance.now() - started) / 1000;
  return { asyncInputsPerSecond: (batches * batch) / asyncSeconds, syncInputsPerSecond: (batches * batch) / syncSeconds, asyncCpuMsPerBatch };
}

// --- the run --------------------------------------------------------------------------------------

const model = loadModel(spec, weightsPath);
if (args.threads) setThreads(Number(args.threads));
const reference = model.forward(input);

let server = null;
let url = args.url;
if (url) checkLoopback(url);
else {
  server = await startServer();
  url = server.url;
}
const mib = body.length / 2 ** 20;
console.log(`load: ${requests} requests (at most ${durationMs / 1000} s) at concurrency ${concurrency}, batch [${shape.join(', ')}] ` +
  `as ${args.format} (${mib.toFixed(1)} MiB), answers as ${args.accept}, to ${url}${server ? ' (started here)' : ''}`);

const load = await runLoad(url, reference, () => scrape(url));
const metrics = await scrape(url);
const exit = server ? await server.stop() : null;

const refusedCount = [...load.refused.values()].reduce((a, b) => a + b, 0);
const rps = load.ok / load.seconds;
const inputsPerSecond = rps * batch;
console.log(`server backend: ${metrics.backend}`);
console.log(`server: ${load.ok} ok in ${load.seconds.toFixed(2)} s: ${rps.toFixed(1)} requests/s, ${inputsPerSecond.toFixed(1)} inputs/s; ` +
  `latency p50 ${percentile(load.latencies, 50).toFixed(1)} ms, p99 ${percentile(load.latencies, 99).toFixed(1)} ms; ` +
  `event-loop delay p99 ${metrics.loopP99Ms.toFixed(2)} ms (max ${metrics.loopMaxMs.toFixed(2)} ms)`);
const calls = metrics.modelCallCount - load.before.modelCallCount;
const callSeconds = metrics.modelCallSeconds - load.before.modelCallSeconds;
console.log(`server model calls: ${calls}, mean ${((1000 * callSeconds) / calls).toFixed(1)} ms per batch, ` +
  `running ${((100 * callSeconds) / (load.seconds * metrics.modelCalls)).toFixed(1)}% of the time (${metrics.modelCalls} at once)`);
console.log(`refused (designed): ${refusedCount}${refusedCount ? ` (${[...load.refused].map(([s, n]) => `${n}× ${s}`).join(', ')})` : ''}; ` +
  `other failures: ${load.failures.length}`);
for (const failure of [...new Set(load.failures)].slice(0, 5)) console.log(`  failure: ${failure}`);
if (exit) console.log(`server stopped on SIGTERM with exit code ${exit.code ?? exit.signal}`);
// CPU time per request over the measured window: the server's from its /metrics, this process's own.
// Both run on this machine's cores, so the client's share is taken from the model's.
const serverCpuMs = (1000 * (metrics.cpuSeconds - load.before.cpuSeconds)) / load.sent;
const clientCpuMs = (1000 * load.clientCpuSeconds) / load.sent;
if (Number.isFinite(serverCpuMs)) {
  console.log(`CPU per request: server ${serverCpuMs.toFixed(2)} core-ms, this load client ${clientCpuMs.toFixed(2)} core-ms ` +
    `(${os.availableParallelism()} cores on this machine)`);
}

if (!args['no-baseline']) {
  const atOnce = Number.isInteger(metrics.modelCalls) ? metrics.modelCalls : backend().maxConcurrentCalls;
  const base = await inProcess(model, Math.max(20, load.ok), atOnce);
  const info = backend();
  console.log(`in-process, no HTTP (same model, batches and threads: backend ${info.name}, ${info.threads} thread(s) per call): ` +
    `forwardAsync, ${atOnce} call(s) at once as the server runs them: ${base.asyncInputsPerSecond.toFixed(1)} inputs/s ` +
    `(${((1000 * batch * atOnce) / base.asyncInputsPerSecond).toFixed(1)} ms per batch); ` +
    `sync forward: ${base.syncInputsPerSecond.toFixed(1)} inputs/s`);
  console.log(`server / in-process: ${(inputsPerSecond / base.asyncInputsPerSecond).toFixed(3)} of forwardAsync, ` +
    `${(inputsPerSecond / base.syncInputsPerSecond).toFixed(3)} of sync forward`);
  if (Number.isFinite(serverCpuMs)) {
    // The model alone costs asyncCpuMsPerBatch; a server with no cost of its own would still share the
    // cores with this client: at most model / (model + client) of in-process.
    const model = base.asyncCpuMsPerBatch;
    console.log(`in-process forwardAsync CPU: ${model.toFixed(2)} core-ms per batch; ` +
      `server CPU beyond the model: ${(serverCpuMs - model).toFixed(2)} core-ms per request; ` +
      `a server costing nothing beyond the model, beside this client, would reach at most ${(model / (model + clientCpuMs)).toFixed(3)} of in-process; ` +
      `in-process CPU / server CPU per batch: ${(model / serverCpuMs).toFixed(3)}`);
  }
}
await model.close();

const failed = load.failures.length > 0 || load.ok === 0 || (exit !== null && exit.code !== 0);
process.exitCode = failed ? 1 : 0;
