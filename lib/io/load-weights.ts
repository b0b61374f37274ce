// One entry point for weight files: the format is recognised from the content, never from the
// file name, so a misnamed file is read correctly or refused with a reason.
import * as path from 'node:path';

import { describe, ErrorCodes, typeError } from '../errors';
import { inputBytes, readWholeFile } from './file-io';
import { NPY_MAGIC, parseNpy } from './npy';
import { readNpz } from './npz';
import { readSafetensors } from './safetensors';
import { createWeightStore, type WeightStore } from './weight-store';
import { BYTES_SOURCE, type ReadContext, weightsError, WeightsErrorCodes } from './weights-error';
import { looksLikeZip } from './zip';

/**
 * Reads safetensors, .npy or .npz from a path or from bytes. A single .npy becomes a store with one
 * tensor named after the file ("conv.weight.npy" → "conv.weight"; "array" for bytes).
 */
export function loadWeights(pathOrBytes: string | Uint8Array): WeightStore {
  let bytes: Uint8Array;
  let source: string;
  if (typeof pathOrBytes === 'string') {
    source = pathOrBytes;
    bytes = readWholeFile(pathOrBytes);
  } else if (pathOrBytes instanceof Uint8Array) {
    source = BYTES_SOURCE;
    bytes = inputBytes(pathOrBytes, 'pathOrBytes');
  } else {
    throw typeError(
      ErrorCodes.INVALID_ARG_TYPE,
      `pathOrBytes must be a path string or a Uint8Array but received ${describe(pathOrBytes)}`,
    );
  }
  const context: ReadContext = { source };

  if (startsWith(bytes, NPY_MAGIC)) {
    const name = source === BYTES_SOURCE ? 'array' : path.parse(source).name;
    const entry = parseNpy(bytes, { source, tensor: name });
    return createWeightStore(source, 'npy', new Map([[name, entry]]));
  }
  if (looksLikeZip(bytes)) return readNpz(bytes, source);
  // safetensors headers are JSON objects: "{" right after the 8-byte length.
  if (bytes.length > 8 && bytes[8] === 0x7b) return readSafetensors(bytes, source);

  if (bytes.length === 0) throw weightsError(WeightsErrorCodes.TRUNCATED, context, 'the file is empty');
  const prefixOf = (magic: Uint8Array) => bytes.length < magic.length && startsWith(magic, bytes);
  if (prefixOf(NPY_MAGIC) || prefixOf(Uint8Array.of(0x50, 0x4b, 0x03, 0x04)) || bytes.length <= 8) {
    throw weightsError(
      WeightsErrorCodes.TRUNCATED,
      context,
      `${bytes.length} bytes is too short for any supported format (safetensors, .npy, .npz)`,
    );
  }
  throw weightsError(WeightsErrorCodes.FORMAT, context, `not safetensors, .npy or .npz${formatHint(bytes)}`);
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && prefix.every((byte, index) => bytes[index] === byte);
}

function formatHint(bytes: Uint8Array): string {
  const ascii = String.fromCharCode(...bytes.subarray(0, 8));
  if (bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) {
    return ' (it looks like a Python pickle, e.g. a legacy PyTorch checkpoint: export safetensors instead)';
  }
  if (ascii.startsWith('\x89HDF')) return ' (it looks like HDF5, e.g. Keras .h5: export safetensors instead)';
  if (ascii.startsWith('GGUF')) return ' (it looks like GGUF, which is not supported)';
  return '';
}
