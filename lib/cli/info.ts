// `conv1x1 info`: what this installation runs on.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { backend } from '../backend';

export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

export function runInfo(): void {
  const info = backend();
  const lines = [
    ['conv1x1', packageVersion()],
    ['node', `${process.version} (N-API ${process.versions.napi})`],
    ['backend', info.name],
    ['library', info.path ?? '(none)'],
    ['version', info.version ?? '(none)'],
    ['note', info.note ?? ''],
    ['simd', info.simd],
    ['threads', `${info.threads} per call, ${info.maxConcurrentCalls} call(s) at once, ${info.cores} cores`],
    ['available', info.available.join(', ')],
  ].filter(([, value]) => value !== '');
  for (const [key, value] of lines) console.log(`${key.padEnd(10)} ${value}`);
}
