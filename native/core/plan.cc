#include "plan.h"

#include <string>

#include "checked_math.h"
#include "error.h"

namespace conv1x1 {
namespace {

void require_at_least(int64_t value, int64_t minimum, const char* name) {
  if (value < minimum) {
    throw Error(ErrorCode::OutOfRange, std::string(name) + " must be at least " +
                                                std::to_string(minimum) + " but is " +
                                                std::to_string(value));
  }
}

// First output index whose input index o*stride - pad is >= 0, and one past the last below `extent`.
void inner_range(int64_t extent, int64_t out_extent, int64_t stride, int64_t pad, int64_t* begin,
                 int64_t* end) {
  if (extent == 0) {
    *begin = *end = 0;
    return;
  }
  int64_t b = pad / stride + (pad % stride != 0);  // ceil(pad / stride) without overflowing
  int64_t e = (extent - 1 + pad) / stride + 1;
  if (b > out_extent) b = out_extent;
  if (e > out_extent) e = out_extent;
  if (e < b) e = b;
  *begin = b;
  *end = e;
}

}  // namespace

ConvPlan make_plan(const ConvParams& p) {
  require_at_least(p.batch, 0, "batch");
  require_at_least(p.in_channels, 0, "in_channels");
  require_at_least(p.height, 0, "height");
  require_at_least(p.width, 0, "width");
  require_at_least(p.out_channels, 0, "out_channels");
  require_at_least(p.stride_h, 1, "stride_h");
  require_at_least(p.stride_w, 1, "stride_w");
  require_at_least(p.pad_h, 0, "pad_h");
  require_at_least(p.pad_w, 0, "pad_w");
  require_at_least(p.groups, 1, "groups");
  if (p.in_channels % p.groups != 0 || p.out_channels % p.groups != 0) {
    throw Error(ErrorCode::ShapeMismatch,
                "groups (" + std::to_string(p.groups) + ") must divide in_channels (" +
                    std::to_string(p.in_channels) + ") and out_channels (" +
                    std::to_string(p.out_channels) + ")");
  }
  if (p.negative_slope != p.negative_slope) {
    throw Error(ErrorCode::OutOfRange, "negative_slope must be a number but is NaN");
  }

  ConvPlan plan;
  plan.params = p;
  // Padded extents: (H + 2p - 1) / s + 1, as conv2d computes them for a 1×1 kernel.
  int64_t padded_h = checked_add(p.height, checked_mul(2, p.pad_h, "pad_h"), "padded height");
  int64_t padded_w = checked_add(p.width, checked_mul(2, p.pad_w, "pad_w"), "padded width");
  plan.out_height = padded_h == 0 ? 0 : (padded_h - 1) / p.stride_h + 1;
  plan.out_width = padded_w == 0 ? 0 : (padded_w - 1) / p.stride_w + 1;
  plan.in_channels_per_group = p.in_channels / p.groups;
  plan.out_channels_per_group = p.out_channels / p.groups;
  plan.in_pixels = checked_mul(p.height, p.width, "height × width");
  plan.out_pixels = checked_mul(plan.out_height, plan.out_width, "output height × width");
  plan.input_elements =
      checked_mul(checked_mul(p.batch, p.in_channels, "batch × in_channels"), plan.in_pixels,
                  "input element count");
  plan.weight_elements =
      checked_mul(p.out_channels, plan.in_channels_per_group, "weight element count");
  plan.output_elements =
      checked_mul(checked_mul(p.batch, p.out_channels, "batch × out_channels"), plan.out_pixels,
                  "output element count");
  // Byte counts must be addressable too.
  checked_mul(plan.input_elements, 4, "input byte count");
  checked_mul(plan.output_elements, 4, "output byte count");
  checked_mul(plan.weight_elements, 4, "weight byte count");
  inner_range(p.height, plan.out_height, p.stride_h, p.pad_h, &plan.inner_oh_begin,
              &plan.inner_oh_end);
  inner_range(p.width, plan.out_width, p.stride_w, p.pad_w, &plan.inner_ow_begin,
              &plan.inner_ow_end);
  plan.direct = p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0;
  return plan;
}

}  // namespace conv1x1
