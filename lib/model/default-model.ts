// The embedded default model: a MobileNetV2-style feature head with fixed, seeded weights. It takes
// 32-channel feature maps of any spatial size, runs seven inverted residual blocks (1×1 expand with
// BN + ReLU6, 3×3 depthwise with BN + ReLU6, 1×1 project with BN, residual where shapes allow) and a
// final 1×1 conv to 256 channels, then averages over the pixels: one 256-float vector per input.
// Weight names follow torchvision's MobileNetV2, so the spec reads like one exported from PyTorch.
import type { TensorLike } from '../tensor';
import type { LayerSpec, ModelSpec } from './model-spec';

export const DEFAULT_INPUT_CHANNELS = 32;
export const DEFAULT_FEATURES = 256;

// (input channels, output channels, expansion, stride) per block, as MobileNetV2's first stages.
const BLOCKS: [number, number, number, number][] = [
  [32, 16, 1, 1],
  [16, 24, 6, 2],
  [24, 24, 6, 1],
  [24, 32, 6, 2],
  [32, 32, 6, 1],
  [32, 64, 6, 2],
  [64, 64, 6, 1],
];

/** Deterministic values in [-1, 1) (mulberry32), the same on every machine. */
function seeded(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

class TensorWriter {
  readonly tensors: Record<string, TensorLike> = {};
  #seed = 1;

  /** He-uniform weights, so that activations keep their scale through the blocks. */
  conv(name: string, shape: number[], fanIn: number): void {
    const count = shape.reduce((a, b) => a * b, 1);
    const scale = Math.sqrt(6 / fanIn);
    this.tensors[`${name}.weight`] = { data: seeded(count, this.#seed++).map((v) => v * scale), shape };
  }

  batchNorm(name: string, channels: number): void {
    const u = () => seeded(channels, this.#seed++);
    this.tensors[`${name}.weight`] = { data: u().map((v) => 1 + 0.1 * v), shape: [channels] };
    this.tensors[`${name}.bias`] = { data: u().map((v) => 0.1 * v), shape: [channels] };
    this.tensors[`${name}.running_mean`] = { data: u().map((v) => 0.1 * v), shape: [channels] };
    this.tensors[`${name}.running_var`] = { data: u().map((v) => 1 + 0.5 * Math.abs(v)), shape: [channels] };
  }
}

function invertedResidual(index: number, [cin, cout, expansion, stride]: [number, number, number, number], w: TensorWriter): LayerSpec {
  const prefix = `features.${index}.conv`;
  const hidden = cin * expansion;
  const layers: LayerSpec[] = [];
  let part = 0;
  if (expansion !== 1) {
    w.conv(`${prefix}.0.0`, [hidden, cin, 1, 1], cin);
    w.batchNorm(`${prefix}.0.1`, hidden);
    layers.push({ type: 'conv1x1', weights: `${prefix}.0.0`, batchNorm: `${prefix}.0.1`, activation: 'relu6' });
    part = 1;
  }
  w.conv(`${prefix}.${part}.0`, [hidden, 1, 3, 3], 9);
  w.batchNorm(`${prefix}.${part}.1`, hidden);
  layers.push({
    type: 'depthwise', weights: `${prefix}.${part}.0`, batchNorm: `${prefix}.${part}.1`,
    kernelSize: 3, stride, padding: 1, activation: 'relu6',
  });
  w.conv(`${prefix}.${part + 1}`, [cout, hidden, 1, 1], hidden);
  w.batchNorm(`${prefix}.${part + 2}`, cout);
  layers.push({ type: 'conv1x1', weights: `${prefix}.${part + 1}`, batchNorm: `${prefix}.${part + 2}` });
  const block: LayerSpec = { type: 'sequential', layers };
  return stride === 1 && cin === cout ? { type: 'residual', layers: [block] } : block;
}

/** The spec and the tensors of the default model. */
export function defaultModel(): { spec: ModelSpec; tensors: Record<string, TensorLike> } {
  const w = new TensorWriter();
  const layers = BLOCKS.map((block, i) => invertedResidual(i, block, w));
  const last = BLOCKS.length;
  w.conv(`features.${last}.0`, [DEFAULT_FEATURES, 64, 1, 1], 64);
  w.batchNorm(`features.${last}.1`, DEFAULT_FEATURES);
  layers.push(
    { type: 'conv1x1', weights: `features.${last}.0`, batchNorm: `features.${last}.1`, activation: 'relu6' },
    { type: 'globalAvgPool' },
  );
  return {
    spec: {
      name: 'conv1x1 default feature head (MobileNetV2-style)',
      description:
        `Seeded weights, not trained. Input [N, ${DEFAULT_INPUT_CHANNELS}, H, W], output [N, ${DEFAULT_FEATURES}].`,
      inputChannels: DEFAULT_INPUT_CHANNELS,
      layers,
    },
    tensors: w.tensors,
  };
}
