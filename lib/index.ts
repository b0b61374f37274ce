export { conv1x1, conv1x1Async, type Conv1x1Options } from './conv';
export { Conv1x1, type Conv1x1LayerOptions, type Conv1x1FromWeightsOptions } from './layers/conv1x1';
export { DepthwiseConv2d, type DepthwiseConv2dOptions, type DepthwiseConv2dFromWeightsOptions } from './layers/depthwise';
export { Linear, type LinearOptions, type LinearFromWeightsOptions } from './layers/linear';
export { SeparableConv2d, type SeparableConv2dOptions } from './layers/separable';
export { GlobalAvgPool, Flatten } from './layers/pooling';
export { Residual, type ResidualOptions } from './layers/residual';
export { Sequential } from './layers/sequential';
export { fuseBatchNorm, type BatchNormParameters } from './layers/batchnorm';
export type { Layer } from './layers/layer';
export { buildModel, loadModel, type LayerSpec, type ModelSpec } from './model/model-spec';
export type { TensorSource } from './model/tensor-source';
export {
  WeightsError,
  WeightsErrorCodes,
  type WeightsErrorCode,
  type WeightStore,
  type TensorInfo,
  loadWeights,
  readSafetensors,
  readNpy,
  readNpz,
  saveSafetensors,
  encodeSafetensors,
  saveNpy,
  encodeNpy,
  createNpyWriter,
  type NpyWriter,
} from './io';
export { Tensor, type TensorLike } from './tensor';
export { backend, setEngine, setQueueLimits, setThreads, type BackendInfo, type QueueLimits } from './backend';
export { Conv1x1Error, ErrorCodes, type ErrorCode } from './errors';
export type { Activation, Layout } from './validate';
