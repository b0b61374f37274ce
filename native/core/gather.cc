#include "gather.h"

#include <algorithm>
#include <cstring>

namespace conv1x1 {
namespace {

// Input row and column of output pixel (oh, ow); only called for pixels inside the inner rectangle.
inline int64_t input_row(const ConvPlan& plan, int64_t oh) {
  return oh * plan.params.stride_h - plan.params.pad_h;
}
inline int64_t input_col(const ConvPlan& plan, int64_t ow) {
  return ow * plan.params.stride_w - plan.params.pad_w;
}

void gather_nchw(const ConvPlan& plan, const float* image, float* panel) {
  const ConvParams& p = plan.params;
  for (int64_t c = 0; c < p.in_channels; ++c) {
    const float* channel = image + c * plan.in_pixels;
    for (int64_t oh = plan.inner_oh_begin; oh < plan.inner_oh_end; ++oh) {
      const float* row = channel + input_row(plan, oh) * p.width;
      for (int64_t ow = plan.inner_ow_begin; ow < plan.inner_ow_end; ++ow) {
        *panel++ = row[input_col(plan, ow)];
      }
    }
  }
}

void scatter_nchw(const ConvPlan& plan, const float* panel, float* image) {
  const ConvParams& p = plan.params;
  const bool has_border = plan.inner_pixels() != plan.out_pixels;
  if (has_border) std::fill(image, image + p.out_channels * plan.out_pixels, 0.0f);
  const int64_t inner_width = plan.inner_ow_end - plan.inner_ow_begin;
  for (int64_t c = 0; c < p.out_channels; ++c) {
    float* channel = image + c * plan.out_pixels;
    for (int64_t oh = plan.inner_oh_begin; oh < plan.inner_oh_end; ++oh) {
      std::memcpy(channel + oh * plan.out_width + plan.inner_ow_begin, panel,
                  static_cast<size_t>(inner_width) * sizeof(float));
      panel += inner_width;
    }
  }
}

void gather_nhwc(const ConvPlan& plan, const float* input, float* panel) {
  const ConvParams& p = plan.params;
  for (int64_t n = 0; n < p.batch; ++n) {
    const float* image = input + n * plan.in_pixels * p.in_channels;
    for (int64_t oh = plan.inner_oh_begin; oh < plan.inner_oh_end; ++oh) {
      for (int64_t ow = plan.inner_ow_begin; ow < plan.inner_ow_end; ++ow) {
        const float* pixel =
            image + (input_row(plan, oh) * p.width + input_col(plan, ow)) * p.in_channels;
        std::memcpy(panel, pixel, static_cast<size_t>(p.in_channels) * sizeof(float));
        panel += p.in_channels;
      }
    }
  }
}

void scatter_nhwc(const ConvPlan& plan, const float* panel, float* output) {
  const ConvParams& p = plan.params;
  const bool has_border = plan.inner_pixels() != plan.out_pixels;
  if (has_border) std::fill(output, output + plan.output_elements, 0.0f);
  for (int64_t n = 0; n < p.batch; ++n) {
    float* image = output + n * plan.out_pixels * p.out_channels;
    for (int64_t oh = plan.inner_oh_begin; oh < plan.inner_oh_end; ++oh) {
      for (int64_t ow = plan.inner_ow_begin; ow < plan.inner_ow_end; ++ow) {
        std::memcpy(image + (oh * plan.out_width + ow) * p.out_channels, panel,
                    static_cast<size_t>(p.out_channels) * sizeof(float));
        panel += p.out_channels;
      }
    }
  }
}

}  // namespace

void gather(const ConvPlan& plan, const float* input, float* panel) {
  const ConvParams& p = plan.params;
  if (p.layout == Layout::NHWC) {
    gather_nhwc(plan, input, panel);
    return;
  }
  for (int64_t n = 0; n < p.batch; ++n) {
    gather_nchw(plan, input + n * p.in_channels * plan.in_pixels,
                panel + n * p.in_channels * plan.inner_pixels());
  }
}

void scatter(const ConvPlan& plan, const float* panel, float* output) {
  const ConvParams& p = plan.params;
  if (p.layout == Layout::NHWC) {
    scatter_nhwc(plan, panel, output);
    return;
  }
  for (int64_t n = 0; n < p.batch; ++n) {
    scatter_nchw(plan, panel + n * p.out_channels * plan.inner_pixels(),
                 output + n * p.out_channels * plan.out_pixels);
  }
}

}  // namespace conv1x1
