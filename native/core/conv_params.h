#pragma once
// The description of one 1×1 convolution, as plain numbers: what the binding reads from JS and the
// core plans from. Semantics follow torch.nn.functional.conv2d with a 1×1 kernel.
#include <cstdint>

namespace conv1x1 {

enum class Layout { NCHW, NHWC };

enum class Activation { None, Relu, Relu6, LeakyRelu, Sigmoid, Tanh, Silu, Gelu, Hardswish };

struct ConvParams {
  int64_t batch = 0, in_channels = 0, height = 0, width = 0;
  int64_t out_channels = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t groups = 1;
  Layout layout = Layout::NCHW;
  Activation activation = Activation::None;
  float negative_slope = 0.01f;  // leaky_relu only
};

}  // namespace conv1x1
