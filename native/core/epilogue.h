#pragma once
// Bias and activation in one pass over the GEMM result, in place.
#include <cstdint>

#include "conv_params.h"

namespace conv1x1 {

struct Epilogue {
  const float* bias = nullptr;  // may be null
  Activation activation = Activation::None;
  float negative_slope = 0.01f;
};

// y is rows × cols with leading dimension ld. bias_per_row: bias[r] (NCHW: rows are channels);
// otherwise bias[c] (NHWC: columns are channels).
void apply_epilogue(float* y, int64_t rows, int64_t cols, int64_t ld, bool bias_per_row,
                    const Epilogue& epilogue);

float activate(float x, Activation activation, float negative_slope);

}  // namespace conv1x1
