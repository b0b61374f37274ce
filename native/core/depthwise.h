#pragma once
// Plan + run: a depthwise 2-D convolution over plain pointers, NCHW, as
// torch.nn.functional.conv2d(x, weight[C, 1, kH, kW], bias, stride, padding, dilation, groups=C)
// computes it: zero padding, bias, then the activation, fused on each output row while it is hot.
#include <cstdint>
#include <vector>

#include "conv_params.h"

namespace conv1x1 {

struct DepthwiseParams {
  int64_t batch = 0, channels = 0, height = 0, width = 0;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  Activation activation = Activation::None;
  float negative_slope = 0.01f;  // leaky_relu only
};

struct DepthwisePlan {
  DepthwiseParams params;
  int64_t out_height = 0, out_width = 0;
  int64_t in_pixels = 0, out_pixels = 0;  // per plane (one image's channel)
  int64_t input_elements = 0, weight_elements = 0, output_elements = 0;
  // Per kernel column kw: the outputs [ow_begin[kw], ow_end[kw]) whose tap kw reads inside the
  // row (ow·stride_w − pad_w + kw·dilation_w in [0, W)); outside it, the tap reads zero padding.
  std::vector<int64_t> ow_begin, ow_end;
};

// Throws conv1x1::Error naming the offending parameter: OutOfRange for a bad value, ShapeMismatch
// when the padded input is smaller than the dilated kernel (as PyTorch refuses it), TooLarge when a
// size overflows.
DepthwisePlan make_depthwise_plan(const DepthwiseParams& params);

// The weight's element count C·kH·kW, after the checks of make_depthwise_plan that do not involve
// the batch or image size: what a layer validates once, before it has seen an input.
int64_t depthwise_weight_elements(const DepthwiseParams& params);

// weight: [C][kH][kW]; bias: C floats or null; output must not overlap the others.
void run_depthwise(const DepthwisePlan& plan, const float* input, const float* weight,
                   const float* bias, float* output, int threads);

}  // namespace conv1x1
