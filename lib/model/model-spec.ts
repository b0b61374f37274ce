// A model spec: the layers of a network in order, each naming the PyTorch prefix of its weights,
// as JSON. With a weights file it builds a Sequential (see README "Model specs").
import { readFileSync } from 'node:fs';

import { loadWeights } from '../io';
import { Conv1x1Error, describe, ErrorCodes } from '../errors';
import { Conv1x1 } from '../layers/conv1x1';
import { DepthwiseConv2d } from '../layers/depthwise';
import type { Layer } from '../layers/layer';
import { Linear } from '../layers/linear';
import { Flatten, GlobalAvgPool } from '../layers/pooling';
import { Residual } from '../layers/residual';
import { Sequential } from '../layers/sequential';
import { checkOptionNames } from '../validate';
import type { TensorSource } from './tensor-source';

export interface ModelSpec {
  /** Free text, shown by `conv1x1 info --model`. */
  name?: string;
  description?: string;
  /** Channels the inputs have; `extract` checks inputs against it before it starts. */
  inputChannels?: number;
  layers: LayerSpec[];
}

export type LayerSpec = { type: string } & Record<string, unknown>;

interface LayerBuilder {
  /** The keys a spec entry of this type may have besides `type`. */
  keys: string[];
  build(spec: Record<string, unknown>, store: TensorSource): Layer;
}

function specError(path: string, message: string): Conv1x1Error {
  return new Conv1x1Error(`model spec ${path}: ${message}`, ErrorCodes.MODEL_SPEC);
}

function readObject(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw specError(path, `must be an object but is ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function readLayers(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw specError(path, `must be a non-empty array of layers but is ${describe(value)}`);
  }
  return value;
}

const BUILT_IN: Record<string, LayerBuilder> = {
  conv1x1: { keys: ['weights', 'batchNorm', 'eps', 'stride', 'padding', 'groups', 'activation', 'negativeSlope'],
    build: (spec, store) => Conv1x1.fromWeights(store, spec.weights as string, withoutKeys(spec, ['type', 'weights'])) },
  depthwise: { keys: ['weights', 'batchNorm', 'eps', 'kernelSize', 'stride', 'padding', 'dilation', 'activation', 'negativeSlope'],
    build: (spec, store) => DepthwiseConv2d.fromWeights(store, spec.weights as string, withoutKeys(spec, ['type', 'weights'])) },
  linear: { keys: ['weights', 'batchNorm', 'eps', 'activation', 'negativeSlope'],
    build: (spec, store) => Linear.fromWeights(store, spec.weights as string, withoutKeys(spec, ['type', 'weights'])) },
  globalAvgPool: { keys: [], build: () => new GlobalAvgPool() },
  flatten: { keys: [], build: () => new Flatten() },
};

function withoutKeys(spec: Record<string, unknown>, keys: string[]): Record<string, never> {
  return Object.fromEntries(Object.entries(spec).filter(([key]) => !keys.includes(key))) as Record<string, never>;
}

function buildLayer(value: unknown, path: string, store: TensorSource): Layer {
  const spec = readObject(value, path);
  const type = spec.type;
  if (typeof type !== 'string') throw specError(`${path}.type`, `must be a layer type but is ${describe(type)}`);
  if (type === 'residual' || type === 'sequential') {
    const keys = type === 'residual' ? ['type', 'layers', 'activation', 'negativeSlope'] : ['type', 'layers'];
    checkSpecKeys(spec, keys, path);
    const inner = readLayers(spec.layers, `${path}.layers`).map((layer, i) => buildLayer(layer, `${path}.layers[${i}]`, store));
    const block = inner.length === 1 ? inner[0] : new Sequential(inner);
    return type === 'sequential'
      ? block
      : wrapErrors(path, type, () => new Residual(block, withoutKeys(spec, ['type', 'layers'])));
  }
  const builder = BUILT_IN[type];
  if (!builder) {
    const known = [...Object.keys(BUILT_IN), 'residual', 'sequential'];
    throw specError(`${path}.type`, `'${type}' is not a layer type (known: ${known.join(', ')})`);
  }
  checkSpecKeys(spec, ['type', ...builder.keys], path);
  if (builder.keys.includes('weights') && typeof spec.weights !== 'string') {
    throw specError(`${path}.weights`, `must be the PyTorch name prefix of the layer's weights but is ${describe(spec.weights)}`);
  }
  const label = typeof spec.weights === 'string' ? `${type} '${spec.weights}'` : type;
  return wrapErrors(path, label, () => builder.build(spec, store));
}

function checkSpecKeys(spec: Record<string, unknown>, keys: string[], path: string): void {
  try {
    checkOptionNames(spec, keys, path);
  } catch (error) {
    throw specError(path, (error as Error).message.replace(`${path}.`, ''));
  }
}

// Errors from a layer's own checks keep their class and code; the message gains where in the spec.
function wrapErrors<T>(path: string, label: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof Error) error.message = `model spec ${path} (${label}): ${error.message}`;
    throw error;
  }
}

/** Builds the model a spec describes from a store of its weights. */
export function buildModel(specValue: unknown, store: TensorSource): Sequential {
  const spec = readObject(specValue, '(root)');
  checkSpecKeys(spec, ['name', 'description', 'inputChannels', 'layers'], '(root)');
  const channels = spec.inputChannels;
  if (channels !== undefined && !(typeof channels === 'number' && Number.isInteger(channels) && channels >= 1)) {
    throw specError('inputChannels', `must be a positive integer but is ${describe(channels)}`);
  }
  const layers = readLayers(spec.layers, 'layers').map((layer, i) => buildLayer(layer, `layers[${i}]`, store));
  return new Sequential(layers);
}

export function readModelSpec(path: string): ModelSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new Conv1x1Error(`model spec ${path}: cannot be read (${(cause as Error).message})`, ErrorCodes.MODEL_SPEC, { cause });
  }
  try {
    return JSON.parse(text) as ModelSpec;
  } catch (cause) {
    throw new Conv1x1Error(`model spec ${path}: not valid JSON (${(cause as Error).message})`, ErrorCodes.MODEL_SPEC, { cause });
  }
}

/**
 * A whole model from a spec (a path to its JSON, or the object) and its weights (a path, bytes, or a
 * store already loaded).
 */
export function loadModel(spec: string | ModelSpec, weights: string | Uint8Array | TensorSource): Sequential {
  const specValue = typeof spec === 'string' ? readModelSpec(spec) : spec;
  const store = typeof weights === 'string' || weights instanceof Uint8Array ? loadWeights(weights) : weights;
  return buildModel(specValue, store);
}
