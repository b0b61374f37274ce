// ES module entry: the same objects as the CommonJS entry (one native module per process).
export {
  conv1x1,
  conv1x1Async,
  Conv1x1,
  Tensor,
  backend,
  setThreads,
  Conv1x1Error,
  ErrorCodes,
} from './index.js';
export type {
  Conv1x1Options,
  Conv1x1LayerOptions,
  TensorLike,
  BackendInfo,
  ErrorCode,
  Activation,
  Layout,
} from './index.js';
