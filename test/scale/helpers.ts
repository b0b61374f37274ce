// Worker processes, input sets and waiting, for the scale-out tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';

import { saveNpy } from '../../lib/index';
import { ROOT } from '../package-helpers';
import { seededFloats } from '../reference';

export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
export const ITEM_SHAPE = [32, 56, 56];

/**
 * `count` input files named f0000.npy…, each a batch [itemsPerFile, 32, 56, 56]: symlinks to a few
 * distinct files, so that a large input set costs little disk and stays in the page cache.
 */
export function makeInputSet(dir: string, count: number, itemsPerFile: number, distinct = 8): string[] {
  const sources = path.join(dir, 'sources');
  const inputs = path.join(dir, 'inputs');
  mkdirSync(sources, { recursive: true });
  mkdirSync(inputs, { recursive: true });
  const itemSize = ITEM_SHAPE.reduce((a, b) => a * b, 1);
  for (let i = 0; i < distinct; i++) {
    saveNpy(path.join(sources, `s${i}.npy`), { data: seededFloats(itemsPerFile * itemSize, 1000 + i), shape: [itemsPerFile, ...ITEM_SHAPE] });
  }
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = path.join(inputs, `f${String(i).padStart(4, '0')}.npy`);
    symlinkSync(path.join(sources, `s${(i * 5) % distinct}.npy`), file);
    files.push(file);
  }
  return files;
}

export interface WorkerProcess {
  name: string;
  child: ChildProcess;
  log(): string;
  /** Resolves once the worker says it takes jobs. */
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnWorker(redisUrl: string, queue: string, name: string, extra: string[] = []): WorkerProcess {
  const child = spawn(process.execPath, [CLI, 'worker', '--redis', redisUrl, '--queue', queue, '--name', name, '--threads', '1', ...extra], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const ready = new Promise<void>((resolve, reject) => {
    const check = () => {
      if (output.includes('taking jobs from queue')) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(check, 20);
    void exited.then(({ code, signal }) => {
      clearInterval(timer);
      reject(new Error(`worker ${name} exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
  ready.catch(() => {});
  return { name, child, log: () => output, ready, exited };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
