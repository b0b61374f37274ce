// Wrong arguments and bad job data: each refused with the documented class and code, before any
// connection is made or any work is done. No Redis is needed here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { backend } from '../../lib/index';
import {
  createWorker,
  parseRedisUrl,
  planShards,
  ScaleError,
  submitJobs,
  validateShardJob,
} from '../../lib/scale/index';
import { ROOT } from '../package-helpers';
import { CLI } from './helpers';

const dir = mkdtempSync(path.join(tmpdir(), 'conv1x1-scale-bad-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function codeOf(run: () => unknown): { kind: string; code: unknown; message: string } {
  try {
    run();
  } catch (error) {
    return { kind: (error as Error).constructor.name, code: (error as { code?: unknown }).code, message: (error as Error).message };
  }
  throw new Error('expected a throw');
}

async function asyncCodeOf(run: () => Promise<unknown>): Promise<{ kind: string; code: unknown; message: string }> {
  try {
    await run();
  } catch (error) {
    return { kind: (error as Error).constructor.name, code: (error as { code?: unknown }).code, message: (error as Error).message };
  }
  throw new Error('expected a rejection');
}

describe('parseRedisUrl', () => {
  it('reads host, port, db, credentials and TLS', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6390/2')).toEqual({ host: '127.0.0.1', port: 6390, db: 2, maxRetriesPerRequest: null });
    expect(parseRedisUrl('rediss://u:p%40ss@cache.internal')).toMatchObject({ host: 'cache.internal', port: 6379, username: 'u', password: 'p@ss', tls: {} });
  });

  it('refuses what is not a redis URL, naming the argument', () => {
    expect(codeOf(() => parseRedisUrl(6379))).toMatchObject({ kind: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    expect(codeOf(() => parseRedisUrl('http://host:6379'))).toMatchObject({ kind: 'RangeError', code: 'ERR_INVALID_ARG_VALUE' });
    expect(codeOf(() => parseRedisUrl('localhost:6379')).message).toMatch(/redis must be a URL like redis:\/\/host:6379/);
    expect(codeOf(() => parseRedisUrl('redis://host/x'))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });
});

describe('shard jobs', () => {
  const good = { version: 1, inputs: { files: ['/data/a.npy'] }, output: '/out/shard-00000-of-00001.npy' };

  it('accepts files or a folder slice, and refuses anything else with ERR_SCALE_JOB_SPEC', () => {
    expect(validateShardJob(good)).toEqual(good);
    expect(validateShardJob({ ...good, inputs: { folder: '/data', first: 4, count: 2 }, batch: 8 }).inputs).toEqual({ folder: '/data', first: 4, count: 2 });
    const cases: [unknown, RegExp][] = [
      [null, /job data must be an object/],
      [{ ...good, version: 2 }, /version must be 1/],
      [{ ...good, extra: 1 }, /unknown key 'extra'/],
      [{ ...good, inputs: { files: [] } }, /inputs.files must be a non-empty array/],
      [{ ...good, inputs: { files: ['relative.npy'] } }, /inputs.files\[0\] must be an absolute path/],
      [{ ...good, inputs: { folder: '/data', first: -1, count: 1 } }, /inputs.first must be an integer ≥ 0/],
      [{ ...good, inputs: {} }, /either files or folder/],
      [{ ...good, output: '/out/x.csv' }, /output must end in .npy or .safetensors/],
      [{ ...good, batch: 0 }, /batch must be an integer ≥ 1/],
    ];
    for (const [data, message] of cases) {
      let caught: unknown;
      try {
        validateShardJob(data);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ScaleError);
      expect((caught as ScaleError).code).toBe('ERR_SCALE_JOB_SPEC');
      expect((caught as Error).message).toMatch(message);
    }
  });

  it('have ids and output names that depend only on the shard', () => {
    const files = ['/d/a.npy', '/d/b.npy', '/d/c.npy'];
    const first = planShards(files, 2, '/out', 'npy');
    expect(first.map((shard) => shard.job.output)).toEqual(['/out/shard-00000-of-00002.npy', '/out/shard-00001-of-00002.npy']);
    expect(planShards(files, 2, '/out', 'npy').map((shard) => shard.id)).toEqual(first.map((shard) => shard.id));
    expect(first[0].id).toMatch(/^shard-00000-of-00002-[0-9a-f]{16}$/);
    // Another output folder or another split is another set of jobs.
    expect(planShards(files, 2, '/elsewhere', 'npy')[0].id).not.toBe(first[0].id);
    expect(planShards(files, 1, '/out', 'npy')[0].id).not.toBe(first[0].id);
  });
});

describe('createWorker and submitJobs options', () => {
  it('are checked before connecting', async () => {
    expect(await asyncCodeOf(() => createWorker(null as never))).toMatchObject({ kind: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    expect(await asyncCodeOf(() => createWorker({ redis: 'redis://127.0.0.1:1', queue: 'q', concurency: 2 } as never)))
      .toMatchObject({ kind: 'TypeError', code: 'ERR_UNKNOWN_OPTION', message: expect.stringMatching(/did you mean 'concurrency'/) });
    expect(await asyncCodeOf(() => createWorker({ redis: 'redis://127.0.0.1:1', queue: 'a:b' })))
      .toMatchObject({ kind: 'RangeError', code: 'ERR_INVALID_ARG_VALUE' });
    // More jobs at once than the calls the cores can run: refused, naming the bound.
    const slots = backend().maxConcurrentCalls;
    expect(await asyncCodeOf(() => createWorker({ redis: 'redis://127.0.0.1:1', queue: 'q', concurrency: slots + 1 })))
      .toMatchObject({ kind: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(new RegExp(`from 1 to ${slots}`)) });
    expect(await asyncCodeOf(() => submitJobs({ redis: 'redis://127.0.0.1:1', queue: 'q', input: dir, out: dir } as never)))
      .toMatchObject({ kind: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/shardSize/) });
    expect(await asyncCodeOf(() => submitJobs({ redis: 'redis://127.0.0.1:1', queue: 'q', input: dir, out: dir, shardSize: 2, format: 'csv' as never })))
      .toMatchObject({ kind: 'RangeError', code: 'ERR_INVALID_ARG_VALUE' });
    // An input folder without .npy/.npz files.
    expect(await asyncCodeOf(() => submitJobs({ redis: 'redis://127.0.0.1:1', queue: 'q', input: dir, out: path.join(dir, 'out'), shardSize: 2 })))
      .toMatchObject({ kind: 'ScaleError', code: 'ERR_SCALE_INPUT', message: expect.stringMatching(/holds no .npy or .npz files/) });
  });
});

describe('the worker, submit and status commands', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });

  it('exit 2 with the missing or bad option named', () => {
    const cases: [string[], RegExp][] = [
      [['worker', '--queue', 'q'], /worker needs --redis/],
      [['worker', '--redis', 'redis://127.0.0.1:1', '--queue', 'q', '--concurrency', '0'], /--concurrency must be a positive integer but is '0'/],
      [['worker', '--redis', 'redis://127.0.0.1:1', '--queue', 'q', '--model', 'm.json'], /--model and --weights go together/],
      [['submit', '--redis', 'redis://127.0.0.1:1', '--queue', 'q', '--input', dir, '--out', dir], /submit needs --shard-size/],
      [['submit', '--redis', 'redis://127.0.0.1:1', '--queue', 'q', '--input', dir, '--out', dir, '--shard-size', '2', '--format', 'csv'], /--format must be npy or safetensors/],
      [['status', '--redis', 'redis://127.0.0.1:1'], /status needs --queue/],
      [['status', '--redis', 'redis://127.0.0.1:1', '--queue', 'q', '--colour'], /Unknown option '--colour'/],
    ];
    for (const [args, message] of cases) {
      const run = cli(...args);
      expect(run.stderr).toMatch(message);
      expect(run.status).toBe(2);
    }
  });

  it('exit 1 with a clear message when Redis cannot be reached', () => {
    const run = cli('status', '--redis', 'redis://127.0.0.1:1', '--queue', 'q');
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/conv1x1: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(10 tries\): connect ECONNREFUSED/);
  });
});
