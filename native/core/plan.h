#pragma once
// A validated convolution: every size it derives, computed once with overflow checks, so that running
// it is only pointer arithmetic.
#include <cstdint>

#include "conv_params.h"

namespace conv1x1 {

struct ConvPlan {
  ConvParams params;
  int64_t out_height = 0, out_width = 0;
  int64_t in_channels_per_group = 0, out_channels_per_group = 0;
  int64_t in_pixels = 0, out_pixels = 0;  // per image
  int64_t input_elements = 0, weight_elements = 0, output_elements = 0;
  // Output pixels whose receptive pixel lies inside the input (outside: bias-only), as a rectangle.
  int64_t inner_oh_begin = 0, inner_oh_end = 0, inner_ow_begin = 0, inner_ow_end = 0;
  bool direct = true;  // stride 1 and no padding: the input is the GEMM operand as it is

  int64_t inner_pixels() const {
    return (inner_oh_end - inner_oh_begin) * (inner_ow_end - inner_ow_begin);
  }
  // Strided without a padding border: every output pixel reads one input pixel, in output order.
  bool strided_without_border() const { return !direct && inner_pixels() == out_pixels; }
};

// Throws conv1x1::Error naming the offending parameter.
ConvPlan make_plan(const ConvParams& params);

}  // namespace conv1x1
