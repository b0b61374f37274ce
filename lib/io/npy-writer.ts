// Streaming .npy output for results too large to hold at once: the shape is known up front, rows are
// appended as they are computed into `<path>.partial`, and only a complete file is renamed to `path`.
import * as fs from 'node:fs';

import { describe, ErrorCodes, typeError } from '../errors';
import { elementCount, isDetached, readShape } from '../tensor';
import { closeQuietly, inputString, removeQuietly, writeAll, writeError } from './file-io';
import { float32LittleEndianBytes } from './float-codec';
import { npyHeader } from './npy';
import { WeightsError, WeightsErrorCodes } from './weights-error';

export interface NpyWriter {
  /** Where the finished file will be. */
  readonly path: string;
  /** Elements appended so far. */
  readonly written: number;
  /**
   * Appends the next elements in C order (any number of them: whole rows or not). Appending more than
   * the shape holds throws ERR_WEIGHTS_SIZE and writes nothing.
   */
  append(rows: Float32Array): void;
  /** Renames the finished file into place; throws ERR_WEIGHTS_SIZE (and removes it) if it is incomplete. */
  close(): void;
  /** Removes the partial file. Idempotent; does nothing after a successful close. */
  abort(): void;
}

type State = 'open' | 'closed' | 'aborted';

export function createNpyWriter(path: string, shape: readonly number[]): NpyWriter {
  const target = inputString(path, 'path');
  const dims = [...readShape(shape, 'shape')];
  const total = elementCount(dims, 'shape');
  const header = npyHeader(dims);
  const partial = `${target}.partial`;
  let fd: number;
  try {
    fd = fs.openSync(partial, 'w');
  } catch (error) {
    throw writeError(partial, 'create the file', error);
  }
  let state: State = 'open';
  let written = 0;

  const discard = (): void => {
    closeQuietly(fd);
    removeQuietly(partial);
    state = 'aborted';
  };
  const write = (bytes: Uint8Array): void => {
    try {
      writeAll(fd, bytes);
    } catch (error) {
      discard();
      throw writeError(partial, 'write the file', error);
    }
  };
  const requireOpen = (action: string): void => {
    if (state !== 'open') {
      throw new WeightsError(
        `${target}: cannot ${action}: the writer was already ${state === 'closed' ? 'closed' : 'aborted'}`,
        WeightsErrorCodes.WRITE,
        { file: target },
      );
    }
  };

  write(header);
  return {
    path: target,
    get written() {
      return written;
    },
    append(rows: Float32Array): void {
      requireOpen('append');
      if (!(rows instanceof Float32Array)) {
        throw typeError(ErrorCodes.INVALID_ARG_TYPE, `rows must be a Float32Array but received ${describe(rows)}`);
      }
      if (isDetached(rows.buffer)) {
        throw typeError(ErrorCodes.BUFFER_DETACHED, "rows' ArrayBuffer is detached (it was transferred)");
      }
      if (written + rows.length > total) {
        throw new WeightsError(
          `${target}: appending ${rows.length} elements would make ${written + rows.length}; ` +
            `shape [${dims.join(', ')}] holds ${total}`,
          WeightsErrorCodes.SIZE,
          { file: target },
        );
      }
      write(float32LittleEndianBytes(rows));
      written += rows.length;
    },
    close(): void {
      if (state === 'closed') return;
      requireOpen('close');
      if (written !== total) {
        discard();
        throw new WeightsError(
          `${target}: ${written} of the ${total} elements of shape [${dims.join(', ')}] were appended; ` +
            'the partial file was removed',
          WeightsErrorCodes.SIZE,
          { file: target },
        );
      }
      try {
        fs.fsyncSync(fd);
        fs.closeSync(fd);
      } catch (error) {
        discard();
        throw writeError(partial, 'finish the file', error);
      }
      try {
        fs.renameSync(partial, target);
      } catch (error) {
        removeQuietly(partial);
        state = 'aborted';
        throw writeError(target, 'rename the finished file into place', error);
      }
      state = 'closed';
    },
    abort(): void {
      if (state === 'open') discard();
    },
  };
}
