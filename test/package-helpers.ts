// The built package (dist/, which `npm test` compiles first) run in child processes and workers,
// as users load it.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.join(__dirname, '..');
export const DIST_ENTRY = path.join(ROOT, 'dist', 'index.js');

export function requireBuiltPackage(): void {
  if (!existsSync(DIST_ENTRY)) {
    throw new Error('dist/ is missing: run `npm test` (it compiles lib/ first) or `npx tsc -p tsconfig.build.json`');
  }
}

export interface NodeRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a script with node in the package root; env entries set to undefined are removed. */
export function runNode(args: string[], env: Record<string, string | undefined> = {}): NodeRun {
  const merged: Record<string, string | undefined> = { ...process.env, ...env };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  const result = spawnSync(process.execPath, args, { cwd: ROOT, env: merged as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

export function runJson(script: string, env: Record<string, string | undefined> = {}): unknown {
  const run = runNode(['-e', script], env);
  if (run.status !== 0) throw new Error(`child failed (${run.status} ${run.signal}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!);
}

// How `ldconfig -p` tags the libraries of this process's architecture.
const LDCONFIG_ARCH: Record<string, string> = { x64: 'x86-64', arm64: 'AArch64' };

export function findLibrary(name: string): string | null {
  try {
    const listing = execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' });
    const arch = LDCONFIG_ARCH[process.arch] ?? process.arch;
    const line = listing.split('\n').find((l) => l.includes(`${name} (`) && l.includes(arch));
    const file = line ? line.split('=> ')[1].trim() : null;
    // The cache can name a file that is gone or hidden (the no-BLAS CI run hides OpenBLAS).
    return file && existsSync(file) ? file : null;
  } catch {
    return null;
  }
}
