// Activations evaluated in JavaScript, for the layers that have no native kernel (Residual's add).
// The same definitions as the native epilogue: NaN passes through relu and relu6; gelu is exact.
import type { Activation } from './validate';

// erf to float32 accuracy (Abramowitz & Stegun 7.1.26 is 1.5e-7 absolute, below float32's ulp
// at 1), evaluated in double.
function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign * (1 - poly * Math.exp(-a * a));
}

export function activationFunction(activation: Activation, negativeSlope: number): (x: number) => number {
  switch (activation) {
    case 'none': return (x) => x;
    case 'relu': return (x) => (x < 0 ? 0 : x);
    case 'relu6': return (x) => (x < 0 ? 0 : x > 6 ? 6 : x);
    case 'leaky_relu': return (x) => (x < 0 ? x * negativeSlope : x);
    case 'sigmoid': return (x) => 1 / (1 + Math.exp(-x));
    case 'tanh': return Math.tanh;
    case 'silu': return (x) => x / (1 + Math.exp(-x));
    case 'gelu': return (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'hardswish': return (x) => (x * (x + 3 < 0 ? 0 : x + 3 > 6 ? 6 : x + 3)) / 6;
  }
}
