#include "reference.h"

#include <cmath>

namespace conv1x1 {
namespace test {
namespace {

// Comparisons written so that NaN falls through unchanged, as in torch.
double relu6(double x) { return x < 0.0 ? 0.0 : (x > 6.0 ? 6.0 : x); }

int64_t tensor_index(Layout layout, int64_t n, int64_t c, int64_t h, int64_t w, int64_t channels,
                     int64_t height, int64_t width) {
  if (layout == Layout::NCHW) return ((n * channels + c) * height + h) * width + w;
  return ((n * height + h) * width + w) * channels + c;
}

}  // namespace

int64_t reference_out_extent(int64_t in, int64_t pad, int64_t stride) {
  const int64_t padded = in + 2 * pad;
  return padded < 1 ? 0 : (padded - 1) / stride + 1;
}

double reference_activation(double x, Activation activation, double negative_slope) {
  switch (activation) {
    case Activation::None: return x;
    case Activation::Relu: return x < 0.0 ? 0.0 : x;
    case Activation::Relu6: return relu6(x);
    case Activation::LeakyRelu: return x < 0.0 ? x * negative_slope : x;
    case Activation::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case Activation::Tanh: return std::tanh(x);
    case Activation::Silu: return x / (1.0 + std::exp(-x));
    case Activation::Gelu: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case Activation::Hardswish: return x * relu6(x + 3.0) / 6.0;
  }
  return x;
}

ReferenceOutput reference_conv(const ConvParams& p, const std::vector<float>& input,
                               const std::vector<float>& weight, const float* bias) {
  const int64_t out_h = reference_out_extent(p.height, p.pad_h, p.stride_h);
  const int64_t out_w = reference_out_extent(p.width, p.pad_w, p.stride_w);
  const int64_t cin_g = p.in_channels / p.groups, cout_g = p.out_channels / p.groups;
  ReferenceOutput out;
  out.depth = cin_g;
  // An empty output may have a huge other extent: return before any product or loop over it.
  if (p.batch == 0 || p.out_channels == 0 || out_h == 0 || out_w == 0) return out;
  const size_t count = static_cast<size_t>(p.batch * p.out_channels * out_h * out_w);
  out.value.resize(count);
  out.magnitude.resize(count);
  for (int64_t n = 0; n < p.batch; ++n) {
    for (int64_t oh = 0; oh < out_h; ++oh) {
      for (int64_t ow = 0; ow < out_w; ++ow) {
        const int64_t ih = oh * p.stride_h - p.pad_h, iw = ow * p.stride_w - p.pad_w;
        const bool inside = ih >= 0 && ih < p.height && iw >= 0 && iw < p.width;
        for (int64_t co = 0; co < p.out_channels; ++co) {
          const int64_t group = co / cout_g;
          double sum = 0.0, magnitude = 0.0;
          for (int64_t ci = 0; inside && ci < cin_g; ++ci) {
            const int64_t c = group * cin_g + ci;
            const double x = input[static_cast<size_t>(
                tensor_index(p.layout, n, c, ih, iw, p.in_channels, p.height, p.width))];
            const double w = weight[static_cast<size_t>(co * cin_g + ci)];
            sum += x * w;
            magnitude += std::fabs(x * w);
          }
          if (bias) sum += bias[co];
          const size_t o = static_cast<size_t>(
              tensor_index(p.layout, n, co, oh, ow, p.out_channels, out_h, out_w));
          out.value[o] = reference_activation(sum, p.activation, p.negative_slope);
          out.magnitude[o] = magnitude;
        }
      }
    }
  }
  return out;
}

int64_t reference_depthwise_extent(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  const int64_t numerator = in + 2 * pad - dilation * (kernel - 1) - 1;
  return numerator < 0 ? -1 : numerator / stride + 1;
}

ReferenceOutput reference_depthwise(const DepthwiseParams& p, const std::vector<float>& input,
                       const std::vector<float>& weight, const float* bias) {
  const int64_t oh_count = reference_depthwise_extent(p.height, p.kernel_h, p.stride_h, p.pad_h, p.dilation_h);
  const int64_t ow_count = reference_depthwise_extent(p.width, p.kernel_w, p.stride_w, p.pad_w, p.dilation_w);
  ReferenceOutput out;
  out.depth = p.kernel_h * p.kernel_w;
  if (p.batch <= 0 || p.channels <= 0 || oh_count <= 0 || ow_count <= 0) return out;
  const size_t count = static_cast<size_t>(p.batch * p.channels * oh_count * ow_count);
  out.value.resize(count);
  out.magnitude.resize(count);
  size_t o = 0;
  for (int64_t n = 0; n < p.batch; ++n) {
    for (int64_t c = 0; c < p.channels; ++c) {
      for (int64_t oh = 0; oh < oh_count; ++oh) {
        for (int64_t ow = 0; ow < ow_count; ++ow, ++o) {
          double sum = bias ? bias[c] : 0.0;
          double magnitude = bias ? std::fabs(bias[c]) : 0.0;
          for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
            for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
              const int64_t ih = oh * p.stride_h - p.pad_h + kh * p.dilation_h;
              const int64_t iw = ow * p.stride_w - p.pad_w + kw * p.dilation_w;
              if (ih < 0 || ih >= p.height || iw < 0 || iw >= p.width) continue;  // zero padding
              const int64_t i = ((n * p.channels + c) * p.height + ih) * p.width + iw;
              const double x = input[static_cast<size_t>(i)];
              const double w = weight[static_cast<size_t>((c * p.kernel_h + kh) * p.kernel_w + kw)];
              sum += x * w;
              magnitude += std::fabs(x * w);
            }
          }
          out.value[o] = reference_activation(sum, p.activation, p.negative_slope);
          out.magnitude[o] = magnitude;
        }
      }
    }
  }
  return out;
}

}  // namespace test
}  // namespace conv1x1
