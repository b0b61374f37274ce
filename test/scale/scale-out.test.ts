// Scale-out extraction against a real Redis (redis-server from Debian, started here on a free
// loopback port): two worker processes share a job of 200 shards while one is SIGKILLed mid-job and
// one shard is poisoned; a second run survives a Redis restart. Outputs are compared with a
// single-process `conv1x1 extract` over the same files, byte for byte.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readNpy } from '../../lib/index';
import type { ShardJob, ShardSummary } from '../../lib/scale/index';
import { startRedis, type RedisServer } from '../../scripts/redis-server.cjs';
import { requireBuiltPackage, ROOT } from '../package-helpers';
import { CLI, makeInputSet, sha256File, spawnWorker, waitFor, type WorkerProcess } from './helpers';

const ITEMS_PER_FILE = 8;
const FEATURES = 256;
const SHARDS = 200;
const POISONED_FILE = 157;  // in shard 78
const dir = mkdtempSync(path.join(tmpdir(), 'conv1x1-scale-'));
let redis: RedisServer;
let files: string[];
/** Rows of a single-process `conv1x1 extract` over every good input file, in file order. */
let reference: Float32Array;
const rowsOf = new Map<string, Float32Array>();
const workers: WorkerProcess[] = [];
const queues: Queue[] = [];

function cli(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
}

function openQueue(name: string): Queue<ShardJob, ShardSummary> {
  const queue = new Queue<ShardJob, ShardSummary>(name, { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } });
  queue.on('error', () => {});  // the test's own connections see the Redis restart too; the workers' logs are checked
  queues.push(queue);
  return queue;
}

const unfinished = async (queue: Queue) => {
  const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
  return counts.waiting + counts.prioritized + counts.delayed + counts.active;
};

/** Every file in `out` is a complete shard output or the manifest: no temporary or partial files. */
function outputListing(out: string): string[] {
  return readdirSync(out).sort();
}

/** The shard outputs, checked against their job summaries and the single-process reference. */
async function checkOutputs(queue: Queue<ShardJob, ShardSummary>, out: string, expectedShards: number): Promise<void> {
  const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { shards: { id: string; output: string; files: string[] }[] };
  expect(manifest.shards).toHaveLength(expectedShards);
  const completed = await queue.getJobs(['completed'], 0, -1);
  const outputs = completed.map((job) => path.basename(job.returnvalue.output));
  expect(new Set(outputs).size).toBe(outputs.length);  // one job per output
  for (const job of completed) {
    const entry = manifest.shards.find((shard) => shard.id === job.id)!;
    const file = path.join(out, entry.output);
    expect(sha256File(file)).toBe(job.returnvalue.checksum);
    const features = readNpy(new Uint8Array(readFileSync(file)));
    const expected = new Float32Array(entry.files.length * ITEMS_PER_FILE * FEATURES);
    entry.files.forEach((input, i) => expected.set(rowsOf.get(input)!, i * ITEMS_PER_FILE * FEATURES));
    expect(features.shape).toEqual([entry.files.length * ITEMS_PER_FILE, FEATURES]);
    expect(Buffer.from(features.data.buffer, features.data.byteOffset, features.data.byteLength)
      .equals(Buffer.from(expected.buffer))).toBe(true);
  }
}

beforeAll(async () => {
  requireBuiltPackage();
  files = makeInputSet(dir, SHARDS * 2, ITEMS_PER_FILE);
  const good = files.filter((_, i) => i !== POISONED_FILE);
  const referenceFile = path.join(dir, 'reference.npy');
  const run = cli('extract', '--threads', '1', '--out', referenceFile, ...good.flatMap((file) => ['--input', file]));
  expect(run.status, run.stderr).toBe(0);
  reference = readNpy(new Uint8Array(readFileSync(referenceFile))).data;
  good.forEach((file, i) => rowsOf.set(file, reference.subarray(i * ITEMS_PER_FILE * FEATURES, (i + 1) * ITEMS_PER_FILE * FEATURES)));
  // The poisoned input: named like the others, but not an array at all.
  unlinkSync(files[POISONED_FILE]);
  writeFileSync(files[POISONED_FILE], 'this is not a .npy file, just text that says so');
  redis = await startRedis(dir);
});

afterAll(async () => {
  for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  await Promise.all(queues.map((queue) => queue.close()));
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('two worker processes share a job of 200 shards', () => {
  const queueName = 'kill-and-poison';
  const out = path.join(dir, 'out-kill');
  let killedJobId: string;

  it('one worker SIGKILLed mid-job: its job is rerun by the other, every output is written once and equals a single-process run; the poisoned shard fails alone', async () => {
    const submit = cli('submit', '--redis', redis.url, '--queue', queueName, '--input', path.join(dir, 'inputs'), '--out', out,
      '--shard-size', '2', '--attempts', '2', '--backoff', '100');
    expect(submit.status, submit.stderr).toBe(0);
    expect(submit.stdout).toMatch(/400 files in 200 shards of up to 2 to queue kill-and-poison: 200 added, 0 already there/);

    const timing = ['--lock-duration', '2000', '--stalled-interval', '1000'];
    const a = spawnWorker(redis.url, queueName, 'worker-a', timing);
    const b = spawnWorker(redis.url, queueName, 'worker-b', timing);
    workers.push(a, b);
    await Promise.all([a.ready, b.ready]);

    // Kill worker A while it holds a job it started moments ago, once a fifth of the work is done.
    const queue = openQueue(queueName);
    const victim = await waitFor('worker-a in the middle of a job', async () => {
      if ((await queue.getCompletedCount()) < SHARDS / 5) return undefined;
      const active = await queue.getActive();
      return active.find((candidate) => candidate.processedBy === 'worker-a' && Date.now() - (candidate.processedOn ?? 0) < 15);
    }, 60_000, 2);
    killedJobId = victim.id!;
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');

    await waitFor('the queue to drain', async () => (await unfinished(queue)) === 0, 120_000, 200);

    const counts = await queue.getJobCounts('completed', 'failed');
    expect(counts).toEqual({ completed: SHARDS - 1, failed: 1 });

    // The killed job went back to the queue when its lock expired, and worker B finished it.
    const killed = (await queue.getJob(killedJobId))!;
    expect(await killed.getState()).toBe('completed');
    expect(killed.returnvalue.worker).toBe('worker-b');
    expect(killed.stalledCounter).toBeGreaterThanOrEqual(1);
    expect(b.log()).toContain(`${killedJobId}: `);
    // One line for the CI log: what the kill did.
    console.log(`kill: worker-a was SIGKILLed ${killedAt - (victim.processedOn ?? 0)} ms into ${killedJobId}; ` +
      `worker-b completed it ${((killed.finishedOn ?? 0) - killedAt) / 1000} s after the kill (stalled ${killed.stalledCounter} time(s))`);

    // The poisoned shard failed after its 2 attempts, with the reason; nothing else failed.
    const [failed] = await queue.getFailed();
    expect(failed.id).toMatch(/^shard-00078-of-00200-/);
    expect(failed.attemptsMade).toBe(2);
    expect(failed.failedReason).toContain('f0157.npy');
    expect(failed.failedReason).toMatch(/not safetensors, \.npy or \.npz/);
    console.log(`poison: ${failed.id} failed after ${failed.attemptsMade} attempts: ${failed.failedReason}`);

    // Every other shard's output exactly once, complete, and nothing else in the output folder.
    const listing = outputListing(out);
    expect(listing).toHaveLength(SHARDS);  // 199 shards + manifest.json
    expect(listing).toContain('manifest.json');
    expect(listing.filter((name) => name.startsWith('.') || name.endsWith('.tmp') || name.endsWith('.partial'))).toEqual([]);
    expect(listing).not.toContain('shard-00078-of-00200.npy');
    await checkOutputs(queue, out, SHARDS);
  });

  it('status shows the counts, items/s and the failed job with its reason', () => {
    const run = cli('status', '--redis', redis.url, '--queue', queueName);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/queue kill-and-poison \[#+\] 200\/200 jobs \(100%\)/);
    expect(run.stdout).toMatch(/waiting 0 {2}delayed 0 {2}active 0 {2}completed 199 {2}failed 1 {2}workers 1 {2}[\d.]+ items\/s/);
    expect(run.stdout).toContain(`${(SHARDS - 1) * 2 * ITEMS_PER_FILE} items in completed jobs`);
    expect(run.stdout).toMatch(/shard-00078-of-00200-\w+ after 2 attempt\(s\): .*f0157\.npy/);
    const wait = cli('status', '--redis', redis.url, '--queue', queueName, '--wait');
    expect(wait.status).toBe(1);  // drained, with a failure
  });

  it('resubmitting adds nothing; --retry-failed reruns the poisoned shard once its input is fixed', async () => {
    const queue = openQueue(queueName);
    const before = statSync(path.join(out, 'shard-00000-of-00200.npy')).mtimeMs;
    const again = cli('submit', '--redis', redis.url, '--queue', queueName, '--input', path.join(dir, 'inputs'), '--out', out, '--shard-size', '2');
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/0 added, 200 already there/);
    expect(await queue.getJobCounts('waiting', 'completed')).toEqual({ waiting: 0, completed: SHARDS - 1 });

    unlinkSync(files[POISONED_FILE]);
    symlinkSync(files[POISONED_FILE - 1], files[POISONED_FILE]);  // now a good input: the same as its neighbour
    rowsOf.set(files[POISONED_FILE], rowsOf.get(files[POISONED_FILE - 1])!);
    const retry = cli('submit', '--redis', redis.url, '--queue', queueName, '--input', path.join(dir, 'inputs'), '--out', out,
      '--shard-size', '2', '--retry-failed');
    expect(retry.stdout).toMatch(/0 added, 200 already there, 1 failed ones retried/);
    await waitFor('the retried shard', async () => (await queue.getCompletedCount()) === SHARDS, 60_000, 100);
    expect(outputListing(out)).toHaveLength(SHARDS + 1);
    expect(statSync(path.join(out, 'shard-00000-of-00200.npy')).mtimeMs).toBe(before);  // not rewritten
    await checkOutputs(queue, out, SHARDS);

    const b = workers.find((worker) => worker.name === 'worker-b')!;
    b.child.kill('SIGTERM');
    expect((await b.exited).code).toBe(0);  // a graceful stop drains and exits 0
  });
});

describe('a Redis restart mid-run', () => {
  it('is survived: both workers reconnect and carry on, and every shard completes, once, correctly', async () => {
    const queueName = 'redis-restart';
    const out = path.join(dir, 'out-restart');
    const shards = 30;
    const some = files.slice(POISONED_FILE + 1, POISONED_FILE + 1 + shards * 8);  // 8 files per shard: jobs long enough to be caught mid-run
    const submit = cli('submit', '--redis', redis.url, '--queue', queueName, '--out', out, '--shard-size', '8',
      ...some.flatMap((file) => ['--input', file]));
    expect(submit.status, submit.stderr).toBe(0);
    const timing = ['--lock-duration', '5000', '--stalled-interval', '1000'];
    const c = spawnWorker(redis.url, queueName, 'worker-c', timing);
    const d = spawnWorker(redis.url, queueName, 'worker-d', timing);
    workers.push(c, d);
    await Promise.all([c.ready, d.ready]);

    const queue = openQueue(queueName);
    await waitFor('a sixth of the shards', async () => (await queue.getCompletedCount()) >= shards / 6, 60_000, 10);
    // Down for 2 s: longer than the workers' first reconnection delay (1 s), so they see it fail.
    await redis.restart(2000);
    const restarted = Date.now();
    await waitFor('the queue to drain', async () => (await unfinished(queue)) === 0, 120_000, 200);

    expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: shards, failed: 0 });
    const completed = await queue.getJobs(['completed'], 0, -1);
    for (const worker of [c, d]) {
      expect(worker.child.exitCode).toBeNull();  // still running
      const after = completed.filter((job) => job.returnvalue.worker === worker.name && (job.finishedOn ?? 0) > restarted);
      expect(after.length, `${worker.name} completed jobs after the restart:\n${worker.log()}`).toBeGreaterThan(0);
    }
    expect(c.log() + d.log()).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+\/?: .*; reconnecting/);
    const before = completed.filter((job) => (job.finishedOn ?? 0) <= restarted).length;
    console.log(`restart: Redis down 2 s after ${before} of ${shards} shards; ${shards - before} completed after it ` +
      `(${[c, d].map((w) => `${w.name}: ${completed.filter((job) => job.returnvalue.worker === w.name && (job.finishedOn ?? 0) > restarted).length}`).join(', ')}), none failed`);
    const listing = outputListing(out);
    expect(listing).toHaveLength(shards + 1);
    expect(listing.filter((name) => name.startsWith('.'))).toEqual([]);
    await checkOutputs(queue, out, shards);

    c.child.kill('SIGTERM');
    d.child.kill('SIGTERM');
    expect((await c.exited).code).toBe(0);
    expect((await d.exited).code).toBe(0);
  });
});
