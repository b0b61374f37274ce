// Batch-norm folding: inference-time BN after a convolution or linear layer is an affine map per
// output channel, so it folds into that layer's weights and bias and costs nothing at run time:
//   s = γ / √(running_var + ε);  W' = s · W (row per channel);  b' = s · (b − running_mean) + β.
import { describe, ErrorCodes, rangeError, shapeError, typeError } from '../errors';
import { readTensor, type TensorLike } from '../tensor';
import { checkOptionNames, readFiniteNumber, readOptionsObject } from '../validate';
import { foldableWeights, isFoldable, type Layer } from './layer';

export interface BatchNormParameters {
  /** γ, [C] */
  weight: Float32Array | TensorLike;
  /** β, [C] */
  bias: Float32Array | TensorLike;
  runningMean: Float32Array | TensorLike;
  runningVar: Float32Array | TensorLike;
  /** Default 1e-5, as torch.nn.BatchNorm2d. */
  eps?: number;
}

const OPTION_NAMES = ['weight', 'bias', 'runningMean', 'runningVar', 'eps'];

function readVector(value: unknown, channels: number, name: string): Float32Array {
  const data = value instanceof Float32Array ? value : readTensor(value, name, { ranks: [1] }).data;
  if (data.length !== channels) {
    throw shapeError(`${name} has ${data.length} elements but the layer has ${channels} output channels`);
  }
  return data;
}

/** A new layer computing batchNorm(layer(x)) in one pass; `layer` itself is unchanged. */
export function fuseBatchNorm<T extends Layer>(layer: T, batchNorm: BatchNormParameters): T {
  if (!layer || !isFoldable(layer)) {
    throw typeError(
      ErrorCodes.INVALID_ARG_TYPE,
      `fuseBatchNorm needs a Conv1x1, DepthwiseConv2d or Linear layer but received ${describe(layer)}`,
    );
  }
  const opts = readOptionsObject(batchNorm, 'batch norm');
  checkOptionNames(opts, OPTION_NAMES, 'batch norm');
  const eps = readFiniteNumber(opts.eps, 'batch norm.eps', 1e-5);
  if (eps < 0) throw rangeError(ErrorCodes.OUT_OF_RANGE, `batch norm.eps must be >= 0 but received ${eps}`);
  const folding = layer[foldableWeights]();
  const channels = folding.channels;
  const gamma = readVector(opts.weight, channels, 'batch norm.weight');
  const beta = readVector(opts.bias, channels, 'batch norm.bias');
  const mean = readVector(opts.runningMean, channels, 'batch norm.runningMean');
  const variance = readVector(opts.runningVar, channels, 'batch norm.runningVar');
  const rowLength = channels === 0 ? 0 : folding.weight.length / channels;
  const weight = folding.weight;
  const bias = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    // In double, rounded once to float32 at the end.
    const scale = gamma[c] / Math.sqrt(variance[c] + eps);
    for (let i = c * rowLength; i < (c + 1) * rowLength; i++) weight[i] = weight[i] * scale;
    bias[c] = scale * ((folding.bias ? folding.bias[c] : 0) - mean[c]) + beta[c];
  }
  return folding.rebuild(weight, bias) as T;
}
