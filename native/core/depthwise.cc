#include "depthwise.h"

#include <algorithm>
#include <string>

#include "../platform/parallel.h"
#include "checked_math.h"
#include "epilogue.h"
#include "error.h"

namespace conv1x1 {
namespace {

// Below this many multiply-adds (a few µs) a unit of work is not worth handing to another thread;
// above it, a few units per thread so that one slow thread does not hold up the call.
constexpr double kMinUnitMacs = 1 << 16;
constexpr int64_t kUnitsPerThread = 4;

void require_at_least(int64_t value, int64_t minimum, const char* name) {
  if (value < minimum) {
    throw Error(ErrorCode::OutOfRange, std::string(name) + " must be at least " +
                                           std::to_string(minimum) + " but is " +
                                           std::to_string(value));
  }
}

// ceil(a / b) for a ≥ 0 and b ≥ 1, without forming a + b − 1.
int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }

// The outputs o in [0, out_extent) whose input index o·stride + offset lies in [0, extent).
void valid_range(int64_t extent, int64_t out_extent, int64_t stride, int64_t offset,
                 int64_t* begin, int64_t* end) {
  int64_t b = offset >= 0 ? 0 : ceil_div(-offset, stride);
  int64_t e = extent - 1 - offset < 0 ? 0 : (extent - 1 - offset) / stride + 1;
  b = std::min(b, out_extent);
  e = std::min(std::max(e, b), out_extent);
  *begin = b;
  *end = e;
}

constexpr int64_t kMaxKernelExtent = 4096;

// dilation·(kernel − 1) + 1: the input extent one output reads.
int64_t dilated_extent(int64_t kernel, int64_t dilation, const char* what) {
  return checked_add(checked_mul(dilation, kernel - 1, what), 1, what);
}

// The layer-level checks (everything but batch and image size), shared by plan and weight sizing.
void check_layer(const DepthwiseParams& p) {
  require_at_least(p.channels, 1, "channels");
  require_at_least(p.kernel_h, 1, "kernel_h");
  require_at_least(p.kernel_w, 1, "kernel_w");
  require_at_least(p.stride_h, 1, "stride_h");
  require_at_least(p.stride_w, 1, "stride_w");
  require_at_least(p.pad_h, 0, "pad_h");
  require_at_least(p.pad_w, 0, "pad_w");
  require_at_least(p.dilation_h, 1, "dilation_h");
  require_at_least(p.dilation_w, 1, "dilation_w");
  if (p.negative_slope != p.negative_slope) {
    throw Error(ErrorCode::OutOfRange, "negative_slope must be a number but is NaN");
  }
  checked_mul(2, p.pad_h, "pad_h");
  checked_mul(2, p.pad_w, "pad_w");
  dilated_extent(p.kernel_h, p.dilation_h, "dilated kernel height");
  dilated_extent(p.kernel_w, p.dilation_w, "dilated kernel width");
  // The plan keeps per-kernel-column ranges: a kernel wider than any real one would make it allocate
  // several times the weights before anything else could refuse the call.
  if (p.kernel_h > kMaxKernelExtent || p.kernel_w > kMaxKernelExtent) {
    throw Error(ErrorCode::TooLarge, "kernel " + std::to_string(p.kernel_h) + "×" + std::to_string(p.kernel_w) +
                                         " exceeds the largest supported kernel side, " +
                                         std::to_string(kMaxKernelExtent));
  }
}

// Outputs [ow0, ow1) of output row oh with every tap bounds-checked: one pass per kernel tap over
// the outputs it reaches, so that the taps of one output are summed in the same order (bias, then
// row-major over the kernel) as in fast_rows. Correct for any kernel, stride and dilation.
void generic_columns(const DepthwisePlan& plan, const float* x, const float* w, float bias,
                     int64_t oh, int64_t ow0, int64_t ow1, float* y) {
  const DepthwiseParams& p = plan.params;
  for (int64_t ow = ow0; ow < ow1; ++ow) y[ow] = bias;
  const int64_t ih0 = oh * p.stride_h - p.pad_h;
  for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
    const int64_t ih = ih0 + kh * p.dilation_h;
    if (ih < 0 || ih >= p.height) continue;
    const float* row = x + ih * p.width;
    for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
      const int64_t begin = std::max(ow0, plan.ow_begin[kw]);
      const int64_t end = std::min(ow1, plan.ow_end[kw]);
      if (begin >= end) continue;
      const float weight = w[kh * p.kernel_w + kw];
      // The input of output `begin`; later outputs are stride_w further along the row.
      const float* in = row + (begin * p.stride_w - p.pad_w + kw * p.dilation_w);
      float* out = y + begin;
      const int64_t n = end - begin;
      if (p.stride_w == 1) {
        for (int64_t i = 0; i < n; ++i) out[i] += weight * in[i];
      } else {
        for (int64_t i = 0; i < n; ++i) out[i] += weight * in[i * p.stride_w];
      }
    }
  }
}

// One unit of work's share of a plane (one image's channel): output rows [oh0, oh1).
struct PlaneRows {
  const float* x;  // the input plane, H × W
  const float* w;  // its kernel, kH × kW
  float bias;
  float* y;  // the output plane, OH × OW
  int64_t oh0, oh1;
};

// Applies the activation to rows as they are finished, a few at a time: about 1 KiB of output,
// still in L1, and on small images (7×7) not one call per 7 values.
class RowActivation {
 public:
  RowActivation(const Epilogue& epilogue, float* y, int64_t width, int64_t first_row)
      : epilogue_(epilogue), y_(y), width_(width), first_(first_row) {}
  void row_done(int64_t row) {
    if ((row + 1 - first_) * width_ >= kEpilogueFloats) flush(row + 1);
  }
  void finish(int64_t end_row) { flush(end_row); }

 private:
  static constexpr int64_t kEpilogueFloats = 256;
  void flush(int64_t end_row) {
    if (end_row > first_) {
      const int64_t count = (end_row - first_) * width_;
      apply_epilogue(y_ + first_ * width_, 1, count, count, /*bias_per_row=*/true, epilogue_);
    }
    first_ = end_row;
  }
  const Epilogue& epilogue_;
  float* y_;
  int64_t width_, first_;
};

void generic_rows(const DepthwisePlan& plan, const PlaneRows& r, const float* /*zeros*/,
                  const Epilogue& epilogue) {
  const int64_t ow = plan.out_width;
  RowActivation activation(epilogue, r.y, ow, r.oh0);
  for (int64_t oh = r.oh0; oh < r.oh1; ++oh) {
    generic_columns(plan, r.x, r.w, r.bias, oh, 0, ow, r.y + oh * ow);
    activation.row_done(oh);
  }
  activation.finish(r.oh1);
}

// One border output of a K×K kernel: every tap checked against the row (iw0 is tap 0's column).
template <int K>
float border_output(const float* const* rows, const float* taps, float bias, int64_t iw0,
                    int64_t width) {
  float sum = bias;
  for (int kh = 0; kh < K; ++kh) {
    for (int kw = 0; kw < K; ++kw) {
      const int64_t iw = iw0 + kw;
      if (iw >= 0 && iw < width) sum += taps[kh * K + kw] * rows[kh][iw];
    }
  }
  return sum;
}

// Rows of a K×K kernel at stride S and dilation 1: the 3×3 and 5×5 of MobileNets and EfficientNets.
// Kernel rows that fall in the vertical padding read a row of zeros with their taps zeroed (0·0
// adds nothing, even where a weight is NaN), so that every output row takes this path. Interior columns,
// whose K taps all lie inside the row, are summed with no bounds checks in one pass: the loop the
// compiler vectorizes over the row (S = 2 loads even/odd lanes with shuffles). The few border
// columns check each tap. Taps are summed in the same order (bias, then row-major) everywhere.
template <int K, int S>
void fast_rows(const DepthwisePlan& plan, const PlaneRows& r, const float* zeros,
               const Epilogue& epilogue) {
  const DepthwiseParams& p = plan.params;
  const int64_t width = p.width, ow_count = plan.out_width;
  // Tap 0 is the last to enter the row and tap K−1 the first to leave it.
  const int64_t begin = plan.ow_begin[0];
  const int64_t end = std::max(begin, plan.ow_end[K - 1]);
  RowActivation activation(epilogue, r.y, ow_count, r.oh0);
  for (int64_t oh = r.oh0; oh < r.oh1; ++oh) {
    const float* rows[K];
    float taps[K * K];
    for (int kh = 0; kh < K; ++kh) {
      const int64_t ih = oh * S - p.pad_h + kh;
      const bool inside = ih >= 0 && ih < p.height;
      rows[kh] = inside ? r.x + ih * width : zeros;
      for (int kw = 0; kw < K; ++kw) taps[kh * K + kw] = inside ? r.w[kh * K + kw] : 0.0f;
    }
    float* y = r.y + oh * ow_count;
    for (int64_t ow = 0; ow < begin; ++ow) {
      y[ow] = border_output<K>(rows, taps, r.bias, ow * S - p.pad_w, width);
    }
    const int64_t n = end - begin;
    // Pointers into the rows only when there is an interior (an empty row may be a null pointer).
    const float* in[K];
    for (int kh = 0; kh < K; ++kh) in[kh] = n > 0 ? rows[kh] + (begin * S - p.pad_w) : rows[kh];
    float* __restrict out = y + begin;
    for (int64_t i = 0; i < n; ++i) {
      float sum = r.bias;
      for (int kh = 0; kh < K; ++kh) {
        const float* __restrict row = in[kh] + i * S;
        for (int kw = 0; kw < K; ++kw) sum += taps[kh * K + kw] * row[kw];
      }
      out[i] = sum;
    }
    for (int64_t ow = end; ow < ow_count; ++ow) {
      y[ow] = border_output<K>(rows, taps, r.bias, ow * S - p.pad_w, width);
    }
    activation.row_done(oh);
  }
  activation.finish(r.oh1);
}

using RowsKernel = void (*)(const DepthwisePlan&, const PlaneRows&, const float*, const Epilogue&);

RowsKernel choose_kernel(const DepthwiseParams& p) {
  if (p.kernel_h != p.kernel_w || p.stride_h != p.stride_w || p.dilation_h != 1 ||
      p.dilation_w != 1) {
    return generic_rows;
  }
  const int64_t k = p.kernel_h, s = p.stride_h;
  if (k == 3 && s == 1) return fast_rows<3, 1>;
  if (k == 3 && s == 2) return fast_rows<3, 2>;
  if (k == 5 && s == 1) return fast_rows<5, 1>;
  if (k == 5 && s == 2) return fast_rows<5, 2>;
  return generic_rows;
}

}  // namespace

DepthwisePlan make_depthwise_plan(const DepthwiseParams& p) {
  require_at_least(p.batch, 0, "batch");
  require_at_least(p.height, 0, "height");
  require_at_least(p.width, 0, "width");
  check_layer(p);

  const int64_t padded_h = checked_add(p.height, 2 * p.pad_h, "padded height");
  const int64_t padded_w = checked_add(p.width, 2 * p.pad_w, "padded width");
  const int64_t dilated_h = dilated_extent(p.kernel_h, p.dilation_h, "dilated kernel height");
  const int64_t dilated_w = dilated_extent(p.kernel_w, p.dilation_w, "dilated kernel width");
  // PyTorch refuses an input smaller than the kernel rather than giving an empty output.
  if (padded_h < dilated_h || padded_w < dilated_w) {
    const bool height = padded_h < dilated_h;
    const char* dim = height ? "height" : "width";
    throw Error(ErrorCode::ShapeMismatch,
                std::string("depthwise convolution: the padded input ") + dim + " " +
                    std::to_string(height ? padded_h : padded_w) + " (" + dim + " " +
                    std::to_string(height ? p.height : p.width) + " + 2 × padding " +
                    std::to_string(height ? p.pad_h : p.pad_w) +
                    ") is smaller than the dilated kernel " + dim + " " +
                    std::to_string(height ? dilated_h : dilated_w));
  }

  DepthwisePlan plan;
  plan.params = p;
  plan.out_height = (padded_h - dilated_h) / p.stride_h + 1;
  plan.out_width = (padded_w - dilated_w) / p.stride_w + 1;
  plan.in_pixels = checked_mul(p.height, p.width, "height × width");
  plan.out_pixels = checked_mul(plan.out_height, plan.out_width, "output height × width");
  const int64_t planes = checked_mul(p.batch, p.channels, "batch × channels");
  plan.input_elements = checked_mul(planes, plan.in_pixels, "input element count");
  plan.output_elements = checked_mul(planes, plan.out_pixels, "output element count");
  plan.weight_elements =
      checked_mul(p.channels, checked_mul(p.kernel_h, p.kernel_w, "kernel_h × kernel_w"),
                  "weight element count");
  // Byte counts must be addressable too.
  checked_mul(plan.input_elements, 4, "input byte count");
  checked_mul(plan.output_elements, 4, "output byte count");
  checked_mul(plan.weight_elements, 4, "weight byte count");

  plan.ow_begin.resize(static_cast<size_t>(p.kernel_w));
  plan.ow_end.resize(static_cast<size_t>(p.kernel_w));
  for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
    valid_range(p.width, plan.out_width, p.stride_w, kw * p.dilation_w - p.pad_w,
                &plan.ow_begin[kw], &plan.ow_end[kw]);
  }
  return plan;
}

void run_depthwise(const DepthwisePlan& plan, const float* input, const float* weight,
                   const float* bias, float* output, int threads) {
  if (plan.output_elements == 0) return;
  const DepthwiseParams& p = plan.params;
  const RowsKernel kernel = choose_kernel(p);
  // The row that kernel rows in the vertical padding read (fast kernels only).
  const std::vector<float> zeros(kernel == generic_rows ? 0 : static_cast<size_t>(p.width), 0.0f);
  Epilogue activation;  // the bias is already in each sum
  activation.activation = p.activation;
  activation.negative_slope = p.negative_slope;

  // Units of work are runs of whole planes or, with fewer planes than units, bands of rows.
  const int64_t planes = p.batch * p.channels;
  const int64_t taps = p.kernel_h * p.kernel_w;
  const double macs = static_cast<double>(plan.output_elements) * static_cast<double>(taps);
  int64_t units = 1;
  if (threads > 1) {
    const double wanted =
        std::min(macs / kMinUnitMacs, static_cast<double>(threads) * kUnitsPerThread);
    units = std::max<int64_t>(1, static_cast<int64_t>(wanted));
  }
  int64_t planes_per_unit = planes, rows_per_band = plan.out_height, bands = 1;
  if (units <= planes) {
    planes_per_unit = ceil_div(planes, units);
    units = ceil_div(planes, planes_per_unit);
  } else {
    planes_per_unit = 1;
    rows_per_band = ceil_div(plan.out_height, std::min(ceil_div(units, planes), plan.out_height));
    bands = ceil_div(plan.out_height, rows_per_band);
    units = planes * bands;
  }

  parallel_for(units, threads, [&](int64_t unit) {
    const int64_t first = (unit / bands) * planes_per_unit;
    const int64_t last = std::min(planes, first + planes_per_unit);
    const int64_t oh0 = (unit % bands) * rows_per_band;
    const int64_t oh1 = std::min(plan.out_height, oh0 + rows_per_band);
    for (int64_t plane = first; plane < last; ++plane) {
      const int64_t channel = plane % p.channels;
      const PlaneRows rows{input + plane * plan.in_pixels, weight + channel * taps,
                           bias ? bias[channel] : 0.0f, output + plane * plan.out_pixels, oh0, oh1};
      kernel(plan, rows, zeros.data(), activation);
    }
  });
}

int64_t depthwise_weight_elements(const DepthwiseParams& p) {
  check_layer(p);
  return checked_mul(p.channels, checked_mul(p.kernel_h, p.kernel_w, "kernel_h × kernel_w"),
                     "weight element count");
}

}  // namespace conv1x1
