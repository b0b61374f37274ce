#include "gather.h"

#include <algorithm>
#include <cstring>

#include "../platform/parallel.h"

namespace conv1x1 {
namespace {

// Below this many floats (256 KiB) the copy takes less than waking a helper thread.
constexpr int64_t kMinParallelGatherFloats = int64_t{64} << 10;

// Input row and column of output pixel (oh, ow); only called for pixels inside the inner rectangle.
inline int64_t input_row(const ConvPlan& plan, int64_t oh) {
  return oh * plan.params.stride_h - plan.params.pad_h;
}
inline int64_t input_col(const ConvPlan& plan, int64_t ow) {
  return ow * plan.params.stride_w - plan.params.pad_w;
}

// Channels [c_begin, c_end) of one image.
void gather_nchw(const ConvPlan& plan, const float* image, float* panel, int64_t c_begin, int64_t c_end) {
  const ConvParams& p = plan.params;
  panel += c_begin * plan.inner_pixels();
  for (int64_t c = c_begin; c < c_end; ++c) {
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

// Inner rows [row_begin, row_end) of one image.
void gather_nhwc(const ConvPlan& plan, const float* input, float* panel, int64_t n, int64_t row_begin,
                 int64_t row_end) {
  const ConvParams& p = plan.params;
  const int64_t inner_width = plan.inner_ow_end - plan.inner_ow_begin;
  panel += (n * plan.inner_pixels() + row_begin * inner_width) * p.in_channels;
  {
    const float* image = input + n * plan.in_pixels * p.in_channels;
    for (int64_t oh = plan.inner_oh_begin + row_begin; oh < plan.inner_oh_begin + row_end; ++oh) {
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

void gather(const ConvPlan& plan, const float* input, float* panel, int threads) {
  const ConvParams& p = plan.params;
  // Per image, pieces of channels (NCHW) or of rows (NHWC); a small panel stays on one thread.
  const int64_t extent = p.layout == Layout::NHWC ? plan.inner_oh_end - plan.inner_oh_begin : p.in_channels;
  const int64_t floats = p.batch * p.in_channels * plan.inner_pixels();
  const int64_t pieces = floats < kMinParallelGatherFloats ? 1 : std::min<int64_t>(threads, extent);
  const int64_t step = pieces <= 1 ? extent : (extent + pieces - 1) / pieces;
  const int64_t per_image = step == 0 ? 0 : (extent + step - 1) / step;
  parallel_for(p.batch * per_image, pieces <= 1 ? 1 : threads, [&](int64_t index) {
    const int64_t n = index / per_image, begin = index % per_image * step;
    const int64_t end = std::min(extent, begin + step);
    if (p.layout == Layout::NHWC) {
      gather_nhwc(plan, input, panel, n, begin, end);
    } else {
      gather_nchw(plan, input + n * p.in_channels * plan.in_pixels,
                  panel + n * p.in_channels * plan.inner_pixels(), begin, end);
    }
  });
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
