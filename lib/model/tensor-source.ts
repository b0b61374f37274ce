// Where layers find their weights by PyTorch name: any store with these methods (loadWeights' result
// is one). Batch-norm parameters are read under torch.nn.BatchNorm2d's names.
import type { BatchNormParameters } from '../layers/batchnorm';
import type { Tensor } from '../tensor';

export interface TensorSource {
  /** The file the tensors come from, for messages. */
  readonly source: string;
  has(name: string): boolean;
  /** The tensor as float32; throws when missing or, with expectedShape, of another shape. */
  tensor(name: string, expectedShape?: readonly number[]): Tensor;
}

export interface FromWeightsBatchNorm {
  /** Prefix of a BatchNorm2d/1d that follows the layer: `<prefix>.weight|bias|running_mean|running_var`. */
  batchNorm?: string;
  /** Its eps; default 1e-5, as PyTorch's. */
  eps?: number;
}

export function readBatchNormWeights(store: TensorSource, prefix: string, channels: number, eps = 1e-5): BatchNormParameters {
  return {
    weight: store.tensor(`${prefix}.weight`, [channels]),
    bias: store.tensor(`${prefix}.bias`, [channels]),
    runningMean: store.tensor(`${prefix}.running_mean`, [channels]),
    runningVar: store.tensor(`${prefix}.running_var`, [channels]),
    eps,
  };
}
