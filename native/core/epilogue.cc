#include "epilogue.h"

#include <cmath>

namespace conv1x1 {
namespace {

// Comparisons are written so that NaN passes through unchanged, as torch.relu and friends do.
inline float relu(float x) { return x < 0.0f ? 0.0f : x; }
inline float relu6(float x) { return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x); }
inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// One loop per activation so that the simple ones vectorize; the switch is outside the loop.
template <typename Fn>
void for_each_row(float* y, int64_t rows, int64_t cols, int64_t ld, bool bias_per_row,
                  const float* bias, Fn fn) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = y + r * ld;
    if (!bias) {
      for (int64_t c = 0; c < cols; ++c) row[c] = fn(row[c]);
    } else if (bias_per_row) {
      const float b = bias[r];
      for (int64_t c = 0; c < cols; ++c) row[c] = fn(row[c] + b);
    } else {
      for (int64_t c = 0; c < cols; ++c) row[c] = fn(row[c] + bias[c]);
    }
  }
}

}  // namespace

float activate(float x, Activation activation, float negative_slope) {
  switch (activation) {
    case Activation::None: return x;
    case Activation::Relu: return relu(x);
    case Activation::Relu6: return relu6(x);
    case Activation::LeakyRelu: return x < 0.0f ? x * negative_slope : x;
    case Activation::Sigmoid: return sigmoid(x);
    case Activation::Tanh: return std::tanh(x);
    case Activation::Silu: return x * sigmoid(x);
    case Activation::Gelu: return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
    case Activation::Hardswish: return x * relu6(x + 3.0f) * (1.0f / 6.0f);
  }
  return x;
}

void apply_epilogue(float* y, int64_t rows, int64_t cols, int64_t ld, bool bias_per_row,
                    const Epilogue& e) {
  const float* bias = e.bias;
  const float slope = e.negative_slope;
  switch (e.activation) {
    case Activation::None:
      if (bias) for_each_row(y, rows, cols, ld, bias_per_row, bias, [](float x) { return x; });
      return;
    case Activation::Relu:
      for_each_row(y, rows, cols, ld, bias_per_row, bias, relu);
      return;
    case Activation::Relu6:
      for_each_row(y, rows, cols, ld, bias_per_row, bias, relu6);
      return;
    case Activation::LeakyRelu:
      for_each_row(y, rows, cols, ld, bias_per_row, bias,
                   [slope](float x) { return x < 0.0f ? x * slope : x; });
      return;
    default: {
      const Activation activation = e.activation;
      for_each_row(y, rows, cols, ld, bias_per_row, bias,
                   [activation, slope](float x) { return activate(x, activation, slope); });
      return;
    }
  }
}

}  // namespace conv1x1
