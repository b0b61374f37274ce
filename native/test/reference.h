#pragma once
// The float64 oracle: torch.nn.functional.conv2d with a 1×1 kernel written as plain loops over
// n, oh, ow, co, ci. It shares nothing with the core but the parameter struct, so a wrong size or
// index in the core cannot be mirrored here.
#include <cstdint>
#include <vector>

#include "../core/conv_params.h"
#include "../core/depthwise.h"

namespace conv1x1 {
namespace test {

struct ReferenceOutput {
  std::vector<double> value;      // in the layout of the params
  std::vector<double> magnitude;  // Σ|x·w| of each output's products: the scale of its rounding error
  int64_t depth = 0;              // K, the products summed per output (Cin / groups)
};

// floor((in + 2·pad − 1) / stride) + 1, PyTorch's output extent for a 1×1 kernel.
int64_t reference_out_extent(int64_t in, int64_t pad, int64_t stride);

double reference_activation(double x, Activation activation, double negative_slope);

// bias may be null. Outputs whose pixel falls in the zero padding are act(bias), as in PyTorch.
ReferenceOutput reference_conv(const ConvParams& params, const std::vector<float>& input,
                               const std::vector<float>& weight, const float* bias);

// floor((in + 2·pad − dilation·(kernel − 1) − 1) / stride) + 1, or −1 where PyTorch raises.
int64_t reference_depthwise_extent(int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                                   int64_t dilation);

// Depthwise conv2d (groups = channels, NCHW) as direct loops; depth is the taps, kH·kW. The plan must
// be one PyTorch accepts (both extents ≥ 0). bias may be null.
ReferenceOutput reference_depthwise(const DepthwiseParams& params, const std::vector<float>& input,
                                    const std::vector<float>& weight, const float* bias);

}  // namespace test
}  // namespace conv1x1
