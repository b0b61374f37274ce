// .npz: a zip archive of .npy members, as np.savez and np.savez_compressed write it. Each member is
// inflated (within the zip reader's caps) and validated when the archive is read.
import { inputBytes, inputString } from './file-io';
import { parseNpy } from './npy';
import { createWeightStore, type StoreEntry, type WeightStore } from './weight-store';
import { BYTES_SOURCE, quoteName, type ReadContext, weightsError, WeightsErrorCodes } from './weights-error';
import { readZip } from './zip';

/** Reads an .npz archive; tensors are named after their members without the '.npy' suffix. */
export function readNpz(bytes: Uint8Array, source: string = BYTES_SOURCE): WeightStore {
  const data = inputBytes(bytes, 'bytes');
  const context: ReadContext = { source: inputString(source, 'source') };
  const entries = new Map<string, StoreEntry>();
  for (const member of readZip(data, context)) {
    if (member.name.endsWith('/') && member.data.length === 0) continue;  // a directory entry
    if (!member.name.endsWith('.npy')) {
      throw weightsError(
        WeightsErrorCodes.FORMAT,
        { ...context, tensor: member.name },
        'a zip member that is not an .npy array: this is not an .npz file ' +
          '(PyTorch .pt checkpoints are zips too; export them to safetensors)',
      );
    }
    const name = member.name.slice(0, -'.npy'.length);
    if (entries.has(name)) {
      throw weightsError(
        WeightsErrorCodes.DUPLICATE,
        { ...context, tensor: name },
        `more than one member is named ${quoteName(member.name)}`,
      );
    }
    entries.set(name, parseNpy(member.data, { ...context, tensor: name }));
  }
  return createWeightStore(context.source, 'npz', entries);
}
