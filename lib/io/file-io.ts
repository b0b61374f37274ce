// Bytes in and out: checking the bytes and paths callers pass, reading a whole regular file, and writing
// a file atomically (a temporary file in the same directory, renamed over the target once complete).
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { constants as bufferConstants } from 'node:buffer';

import { describe, ErrorCodes, typeError } from '../errors';
import { isDetached, isVolatileBuffer } from '../tensor';
import { WeightsError, WeightsErrorCodes } from './weights-error';

/** A Uint8Array (or Buffer) to parse; shared or resizable memory is snapshotted so it cannot change under us. */
export function inputBytes(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw typeError(
      ErrorCodes.INVALID_ARG_TYPE,
      `${name} must be a Uint8Array or Buffer but received ${describe(value)}`,
    );
  }
  if (isDetached(value.buffer)) {
    throw typeError(ErrorCodes.BUFFER_DETACHED, `${name}'s ArrayBuffer is detached (it was transferred)`);
  }
  return isVolatileBuffer(value.buffer) ? new Uint8Array(value) : value;
}

export function inputString(value: unknown, name: string): string {
  if (typeof value !== 'string') {
    throw typeError(ErrorCodes.INVALID_ARG_TYPE, `${name} must be a string but received ${describe(value)}`);
  }
  return value;
}

const READ_CHUNK = 1 << 30;

/**
 * The whole content of a regular file, in its own ArrayBuffer (offset 0, so file offsets keep their
 * alignment). Not fs.readFileSync: that stops at 2 GiB, and would read /dev/zero or a FIFO forever.
 */
export function readWholeFile(file: string): Uint8Array {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) {
      throw new WeightsError(`${file}: not a regular file`, WeightsErrorCodes.READ, { file });
    }
    if (stat.size > bufferConstants.MAX_LENGTH) {
      throw new WeightsError(
        `${file}: the file has ${stat.size} bytes; at most ${bufferConstants.MAX_LENGTH} can be loaded`,
        WeightsErrorCodes.LIMIT,
        { file },
      );
    }
    const bytes = Buffer.allocUnsafeSlow(stat.size);
    let done = 0;
    while (done < bytes.length) {
      const read = fs.readSync(fd, bytes, done, Math.min(bytes.length - done, READ_CHUNK), done);
      if (read === 0) {
        throw new WeightsError(
          `${file}: the file shrank from ${bytes.length} to ${done} bytes while it was read`,
          WeightsErrorCodes.READ,
          { file },
        );
      }
      done += read;
    }
    return bytes;
  } catch (error) {
    if (error instanceof WeightsError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new WeightsError(`${file}: cannot read the file: ${reason}`, WeightsErrorCodes.READ, {
      file,
      cause: error,
    });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** One Uint8Array over its own ArrayBuffer (not a slice of Node's shared pool, as Buffer.concat may give). */
export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Writes every chunk of `view` (looping: writeSync may write less than asked). */
export function writeAll(fd: number, view: Uint8Array): void {
  let done = 0;
  while (done < view.length) {
    done += fs.writeSync(fd, view, done, view.length - done);
  }
}

export function writeError(file: string, action: string, error: unknown): WeightsError {
  const reason = error instanceof Error ? error.message : String(error);
  return new WeightsError(`${file}: cannot ${action}: ${reason}`, WeightsErrorCodes.WRITE, {
    file,
    cause: error,
  });
}

/** Readers of `file` see either the old content or all of the new one, never a partial file. */
export function writeFileAtomic(file: string, chunks: readonly Uint8Array[]): void {
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, 'wx');
    for (const chunk of chunks) writeAll(fd, chunk);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, file);
  } catch (error) {
    if (fd !== undefined) closeQuietly(fd);
    removeQuietly(temp);
    throw writeError(file, 'write the file', error);
  }
}

export function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already failing; the first error is the one to report
  }
}

export function removeQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // it may never have been created
  }
}
