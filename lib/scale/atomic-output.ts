// Writing a shard's features so that the output store only ever holds complete files, one per shard:
// the bytes go to a temporary name beside the target and are renamed over it. A worker killed while
// writing leaves its temporary file behind; the next attempt at the same shard removes it first.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';

import { encodeNpy, encodeSafetensors } from '../io';
import type { TensorLike } from '../tensor';
import { ScaleError, ScaleErrorCodes } from './scale-error';

const TEMP_SUFFIX = '.tmp';

/** `.<name>.<host>-<pid>-<random>.tmp`: hidden, and recognisable as an attempt at `<name>`. */
function temporaryName(target: string): string {
  const tag = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  return path.join(path.dirname(target), `.${path.basename(target)}.${tag}${TEMP_SUFFIX}`);
}

/** Temporary files of earlier attempts at `target` (the job lock says no live attempt owns them). */
export function staleTemporaries(target: string): string[] {
  const folder = path.dirname(target);
  const prefix = `.${path.basename(target)}.`;
  let entries: string[];
  try {
    entries = fs.readdirSync(folder);
  } catch {
    return [];
  }
  return entries.filter((entry) => entry.startsWith(prefix) && entry.endsWith(TEMP_SUFFIX)).map((entry) => path.join(folder, entry));
}

export function encodeFeatures(target: string, features: TensorLike): Uint8Array {
  if (target.endsWith('.npy')) return encodeNpy(features);
  // No timestamp or host in the metadata: a rerun must write the same bytes.
  return encodeSafetensors({ features }, { producer: 'conv1x1 worker' });
}

/**
 * Writes `bytes` to `target` atomically and durably (file and folder synced before the job can be
 * reported complete). Returns the sha256 of the bytes.
 */
export function writeOutputAtomic(target: string, bytes: Uint8Array): string {
  for (const stale of staleTemporaries(target)) fs.rmSync(stale, { force: true });
  const folder = path.dirname(target);
  const temporary = temporaryName(target);
  let fd: number | undefined;
  try {
    fs.mkdirSync(folder, { recursive: true });
    fd = fs.openSync(temporary, 'wx');
    for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temporary, target);
    syncFolder(folder);
  } catch (cause) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(temporary, { force: true });
    throw new ScaleError(`${target}: cannot write the features: ${(cause as Error).message}`, ScaleErrorCodes.OUTPUT, { cause });
  }
  return createHash('sha256').update(bytes).digest('hex');
}

/** Makes the rename itself durable; some filesystems refuse to open a folder for this, which is harmless. */
function syncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(folder, 'r');
    fs.fsyncSync(fd);
  } catch {
    // best effort
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
