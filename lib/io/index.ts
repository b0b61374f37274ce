// Weight files: safetensors, .npy and .npz readers and writers.
export { WeightsError, WeightsErrorCodes, type WeightsErrorCode } from './weights-error';
export type { TensorInfo, WeightFormat, WeightStore } from './weight-store';
export { loadWeights } from './load-weights';
export { encodeSafetensors, readSafetensors, saveSafetensors, SAFETENSORS_HEADER_CAP } from './safetensors';
export { encodeNpy, NPY_HEADER_CAP, readNpy, saveNpy } from './npy';
export { createNpyWriter, type NpyWriter } from './npy-writer';
export { readNpz } from './npz';
export { ZIP_MAX_INFLATED_BYTES, ZIP_MAX_MEMBERS } from './zip';
