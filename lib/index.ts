export { conv1x1, conv1x1Async, type Conv1x1Options } from './conv';
export { Conv1x1, type Conv1x1LayerOptions } from './layers/conv1x1';
export { Tensor, type TensorLike } from './tensor';
export { backend, setThreads, type BackendInfo } from './backend';
export { Conv1x1Error, ErrorCodes, type ErrorCode } from './errors';
export type { Activation, Layout } from './validate';
