// make_depthwise_plan and run_depthwise against a float64 oracle written here as plain loops over
// n, c, oh, ow, kh, kw with a bounds check per tap (PyTorch's conv2d with groups = C): every kernel
// size from 1 to 7, stride 1–3, padding 0–3, dilation 1–2, images smaller than the kernel, every
// activation, 1 and 2 threads (which must agree to the bit). Outputs start as NaN, so a value the
// core never writes fails. Plan errors are checked by ErrorCode.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../core/depthwise.h"
#include "../core/error.h"
#include "check.h"
#include "expect_error.h"
#include "compare.h"
#include "random_tensor.h"
#include "reference.h"
#include "suites.h"

namespace conv1x1 {
namespace test {
namespace {

const Activation kActivations[] = {
    Activation::None, Activation::Relu, Activation::Relu6, Activation::LeakyRelu, Activation::Sigmoid,
    Activation::Tanh, Activation::Silu, Activation::Gelu,  Activation::Hardswish};
constexpr int kActivationCount = sizeof(kActivations) / sizeof(kActivations[0]);

std::string describe(const DepthwiseParams& p, bool with_bias) {
  auto pair = [](int64_t a, int64_t b) { return std::to_string(a) + "×" + std::to_string(b); };
  return "N" + std::to_string(p.batch) + " C" + std::to_string(p.channels) + " H" +
         std::to_string(p.height) + " W" + std::to_string(p.width) + " kernel " +
         pair(p.kernel_h, p.kernel_w) + " stride " + pair(p.stride_h, p.stride_w) + " pad " +
         pair(p.pad_h, p.pad_w) + " dilation " + pair(p.dilation_h, p.dilation_w) +
         " activation " + std::to_string(static_cast<int>(p.activation)) +
         (with_bias ? " bias" : " no bias");
}

class DepthwiseSuite {
 public:
  void run();

 private:
  // Runs one case at 1 and 2 threads against the oracle; a case PyTorch refuses must raise
  // ShapeMismatch instead.
  void check_case(const DepthwiseParams& p, bool with_bias, float spread = 1.0f);
  void check_data(const DepthwiseParams& p, const std::vector<float>& input,
                  const std::vector<float>& weight, const float* bias);

  void sweep_square();
  void sweep_rectangular();
  void sweep_activations();
  void sweep_thread_split();
  void check_nan_propagation();
  void check_plan_errors();
  void check_derived_sizes();

  std::mt19937 rng_{77};
  long cases_ = 0;
  double max_error_ratio_ = 0.0;
};

void DepthwiseSuite::check_case(const DepthwiseParams& p, bool with_bias, float spread) {
  const int64_t oh = reference_depthwise_extent(p.height, p.kernel_h, p.stride_h, p.pad_h, p.dilation_h);
  const int64_t ow = reference_depthwise_extent(p.width, p.kernel_w, p.stride_w, p.pad_w, p.dilation_w);
  if (oh < 0 || ow < 0) {
    try {
      make_depthwise_plan(p);
      check(false, describe(p, with_bias) + ": no error for a kernel larger than the padded input");
    } catch (const Error& e) {
      check(e.code() == ErrorCode::ShapeMismatch,
            describe(p, with_bias) + ": " + error_code_label(e.code()) + ", expected ShapeMismatch");
    }
    return;
  }
  const int64_t planes = p.batch * p.channels;
  const std::vector<float> input = random_floats(planes * p.height * p.width, spread, rng_);
  const std::vector<float> weight = random_floats(p.channels * p.kernel_h * p.kernel_w, 1.0f, rng_);
  const std::vector<float> bias = random_floats(p.channels, spread, rng_);
  check_data(p, input, weight, with_bias ? bias.data() : nullptr);
}

void DepthwiseSuite::check_data(const DepthwiseParams& p, const std::vector<float>& input,
                                const std::vector<float>& weight, const float* bias) {
  const std::string what = describe(p, bias != nullptr);
  DepthwisePlan plan;
  try {
    plan = make_depthwise_plan(p);
  } catch (const Error& e) {
    check(false, what + ": make_depthwise_plan threw " + e.what());
    return;
  }
  const ReferenceOutput reference = reference_depthwise(p, input, weight, bias);
  std::vector<float> outputs[2];
  for (int threads : {1, 2}) {
    std::vector<float>& output = outputs[threads - 1];
    output.assign(static_cast<size_t>(plan.output_elements), std::nanf(""));
    try {
      run_depthwise(plan, input.data(), weight.data(), bias, output.data(), threads);
    } catch (const std::exception& e) {
      check(false, what + ", " + std::to_string(threads) + " thread(s): threw " + e.what());
      return;
    }
    const Comparison comparison = compare_to_reference(output, reference);
    check(comparison.ok, what + ", " + std::to_string(threads) + " thread(s): " +
                             comparison.first_mismatch);
    max_error_ratio_ = std::max(max_error_ratio_, comparison.max_error_ratio);
  }
  const size_t bytes = outputs[0].size() * sizeof(float);
  check(outputs[0].size() == outputs[1].size() &&
            (bytes == 0 || std::memcmp(outputs[0].data(), outputs[1].data(), bytes) == 0),
        what + ": 1 and 2 threads give different bits");
  ++cases_;
}

// Square kernels 1–7 (3 and 5 at stride 1 and 2 are the fast paths) over every stride, padding and
// dilation, on images from 1×1 (smaller than most kernels: only padding makes them valid) to 20×20.
void DepthwiseSuite::sweep_square() {
  const int64_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 11, 16, 20};
  int counter = 0;
  for (int64_t kernel : {1, 2, 3, 4, 5, 7}) {
    for (int64_t stride : {1, 2, 3}) {
      for (int64_t pad = 0; pad <= 3; ++pad) {
        for (int64_t dilation : {1, 2}) {
          for (int64_t height : sizes) {
            for (int64_t width : sizes) {
              // Every width with a few heights keeps the sweep fast; the heights rotate.
              if ((height + width + counter) % 3 != 0 && height != width) continue;
              DepthwiseParams p;
              p.batch = 1 + counter % 2;
              p.channels = 3;
              p.height = height;
              p.width = width;
              p.kernel_h = p.kernel_w = kernel;
              p.stride_h = p.stride_w = stride;
              p.pad_h = p.pad_w = pad;
              p.dilation_h = p.dilation_w = dilation;
              p.activation = kActivations[counter % kActivationCount];
              check_case(p, counter % 4 != 0);
              ++counter;
            }
          }
        }
      }
    }
  }
}

// Height and width with different kernels, strides, padding and dilation: an index that swaps the
// two axes shows here.
void DepthwiseSuite::sweep_rectangular() {
  const int64_t kernels[][2] = {{1, 3}, {3, 1}, {2, 5}, {5, 3}, {7, 2}, {3, 5}};
  const int64_t strides[][2] = {{1, 1}, {1, 2}, {2, 1}, {3, 2}, {2, 2}};
  const int64_t pads[][2] = {{0, 1}, {2, 0}, {3, 1}, {1, 1}};
  const int64_t dilations[][2] = {{1, 1}, {1, 2}, {2, 1}};
  const int64_t images[][2] = {{1, 9}, {6, 13}, {17, 4}, {20, 19}};
  int counter = 0;
  for (const auto& kernel : kernels) {
    for (const auto& stride : strides) {
      for (const auto& pad : pads) {
        for (const auto& dilation : dilations) {
          for (const auto& image : images) {
            DepthwiseParams p;
            p.batch = 2;
            p.channels = 2;
            p.height = image[0];
            p.width = image[1];
            p.kernel_h = kernel[0];
            p.kernel_w = kernel[1];
            p.stride_h = stride[0];
            p.stride_w = stride[1];
            p.pad_h = pad[0];
            p.pad_w = pad[1];
            p.dilation_h = dilation[0];
            p.dilation_w = dilation[1];
            p.activation = kActivations[counter % kActivationCount];
            check_case(p, counter % 3 != 0);
            ++counter;
          }
        }
      }
    }
  }
}

// Every activation on every fast path and on the generic one, with pre-activations spread over
// about ±8 (relu6's 6, hardswish's ±3, the tails of sigmoid and tanh) and padding borders.
void DepthwiseSuite::sweep_activations() {
  // Kernel and stride: the four fast kernels, then two generic ones.
  const int64_t geometries[][2] = {{3, 1}, {3, 2}, {5, 1}, {5, 2}, {4, 1}, {7, 3}};
  for (Activation activation : kActivations) {
    for (float slope : {0.01f, 0.2f, -0.5f}) {
      if (slope != 0.01f && activation != Activation::LeakyRelu) continue;
      for (const auto& geometry : geometries) {
        for (bool with_bias : {false, true}) {
          DepthwiseParams p;
          p.batch = 2;
          p.channels = 5;
          p.height = 13;
          p.width = 18;
          p.kernel_h = p.kernel_w = geometry[0];
          p.stride_h = p.stride_w = geometry[1];
          p.pad_h = p.pad_w = geometry[0] / 2;
          p.activation = activation;
          p.negative_slope = slope;
          check_case(p, with_bias, 4.0f);
        }
      }
    }
  }
}

// Work large enough for 2 threads to split it: runs of whole planes (many channels) and bands of
// rows within one plane (one channel, a large image), on a fast and a generic kernel.
void DepthwiseSuite::sweep_thread_split() {
  struct Shape {
    int64_t batch, channels, height, width, kernel, stride, pad, dilation;
  };
  const Shape shapes[] = {
      {1, 1, 150, 131, 3, 1, 1, 1}, {1, 1, 127, 160, 5, 2, 2, 1}, {2, 1, 90, 97, 7, 1, 3, 2},
      {2, 40, 20, 20, 3, 1, 1, 1},  {1, 96, 23, 24, 3, 2, 1, 1},  {1, 3, 64, 64, 4, 3, 0, 1},
      {3, 7, 33, 35, 5, 1, 2, 1},
  };
  int counter = 0;
  for (const Shape& s : shapes) {
    DepthwiseParams p;
    p.batch = s.batch;
    p.channels = s.channels;
    p.height = s.height;
    p.width = s.width;
    p.kernel_h = p.kernel_w = s.kernel;
    p.stride_h = p.stride_w = s.stride;
    p.pad_h = p.pad_w = s.pad;
    p.dilation_h = p.dilation_w = s.dilation;
    p.activation = kActivations[(counter * 2) % kActivationCount];
    check_case(p, counter % 2 == 0);
    ++counter;
  }
}

// A NaN in the input reaches exactly the outputs whose window holds it; a NaN weight reaches the
// outputs of its channel whose tap at that position reads the image, not those where it reads the
// zero padding (the padding is skipped, never multiplied).
void DepthwiseSuite::check_nan_propagation() {
  for (int64_t kernel : {3, 5, 4}) {
    for (int64_t stride : {1, 2}) {
      DepthwiseParams p;
      p.batch = 1;
      p.channels = 3;
      p.height = 9;
      p.width = 11;
      p.kernel_h = p.kernel_w = kernel;
      p.stride_h = p.stride_w = stride;
      p.pad_h = p.pad_w = kernel / 2;
      p.activation = Activation::Relu;
      std::vector<float> input = random_floats(p.channels * p.height * p.width, 1.0f, rng_);
      std::vector<float> weight = random_floats(p.channels * kernel * kernel, 1.0f, rng_);
      const std::vector<float> bias = random_floats(p.channels, 1.0f, rng_);
      input[5 * p.width + 6] = std::nanf("");               // channel 0, inside
      weight[(2 * kernel + 0) * kernel + 0] = std::nanf("");  // channel 2, its top-left tap
      const ReferenceOutput reference = reference_depthwise(p, input, weight, bias.data());
      int64_t nan_outputs = 0;
      for (double v : reference.value) nan_outputs += std::isnan(v);
      check(nan_outputs > 0 && nan_outputs < static_cast<int64_t>(reference.value.size()) / 2,
            describe(p, true) + ": the NaN case reaches some outputs but not most (" +
                std::to_string(nan_outputs) + ")");
      check_data(p, input, weight, bias.data());
    }
  }
}

void expect_plan_error(const DepthwiseParams& p, ErrorCode expected, const std::string& what) {
  expect_error([&] { make_depthwise_plan(p); }, expected, what);
}

DepthwiseParams valid_params() {
  DepthwiseParams p;
  p.batch = 1;
  p.channels = 4;
  p.height = p.width = 5;
  p.kernel_h = p.kernel_w = 3;
  return p;
}

void DepthwiseSuite::check_plan_errors() {
  struct Case {
    const char* what;
    int64_t DepthwiseParams::*field;
    int64_t value;
    ErrorCode code;
  };
  const int64_t huge = int64_t{1} << 62;
  const Case cases[] = {
      {"batch -1", &DepthwiseParams::batch, -1, ErrorCode::OutOfRange},
      {"channels 0", &DepthwiseParams::channels, 0, ErrorCode::OutOfRange},
      {"height -1", &DepthwiseParams::height, -1, ErrorCode::OutOfRange},
      {"width -2", &DepthwiseParams::width, -2, ErrorCode::OutOfRange},
      {"kernel_h 0", &DepthwiseParams::kernel_h, 0, ErrorCode::OutOfRange},
      {"kernel_w -3", &DepthwiseParams::kernel_w, -3, ErrorCode::OutOfRange},
      {"stride_h 0", &DepthwiseParams::stride_h, 0, ErrorCode::OutOfRange},
      {"stride_w -1", &DepthwiseParams::stride_w, -1, ErrorCode::OutOfRange},
      {"pad_h -1", &DepthwiseParams::pad_h, -1, ErrorCode::OutOfRange},
      {"pad_w -1", &DepthwiseParams::pad_w, -1, ErrorCode::OutOfRange},
      {"dilation_h 0", &DepthwiseParams::dilation_h, 0, ErrorCode::OutOfRange},
      {"dilation_w -2", &DepthwiseParams::dilation_w, -2, ErrorCode::OutOfRange},
      {"kernel_h 6 on a height of 5", &DepthwiseParams::kernel_h, 6, ErrorCode::ShapeMismatch},
      {"kernel_w 9 on a width of 5", &DepthwiseParams::kernel_w, 9, ErrorCode::ShapeMismatch},
      {"dilation_h 3 (a 7-row kernel) on a height of 5", &DepthwiseParams::dilation_h, 3,
       ErrorCode::ShapeMismatch},
      {"height 0 without padding", &DepthwiseParams::height, 0, ErrorCode::ShapeMismatch},
      {"pad_h 2^62 (2·pad overflows)", &DepthwiseParams::pad_h, huge, ErrorCode::TooLarge},
      {"dilation_w 2^62 (dilated kernel overflows)", &DepthwiseParams::dilation_w, huge,
       ErrorCode::TooLarge},
      {"kernel_h INT64_MAX (beyond the largest kernel side)", &DepthwiseParams::kernel_h,
       std::numeric_limits<int64_t>::max(), ErrorCode::TooLarge},
      {"kernel_w 4097 with padding to fit it (beyond the largest kernel side)", &DepthwiseParams::kernel_w,
       4097, ErrorCode::TooLarge},
      {"kernel_h 9 on a 3-high image (larger than the padded input)", &DepthwiseParams::kernel_h, 9,
       ErrorCode::ShapeMismatch},
  };
  for (const Case& c : cases) {
    DepthwiseParams p = valid_params();
    p.*(c.field) = c.value;
    expect_plan_error(p, c.code, c.what);
  }
  DepthwiseParams p = valid_params();
  p.kernel_w = std::numeric_limits<int64_t>::max();
  p.dilation_w = 2;
  expect_plan_error(p, ErrorCode::TooLarge, "kernel_w INT64_MAX at dilation 2");
  p = valid_params();
  p.negative_slope = std::nanf("");
  expect_plan_error(p, ErrorCode::OutOfRange, "negative_slope NaN");
  p = valid_params();
  p.height = p.width = int64_t{1} << 40;
  expect_plan_error(p, ErrorCode::TooLarge, "height × width = 2^40 × 2^40");
  p = valid_params();
  p.batch = p.channels = int64_t{1} << 40;
  expect_plan_error(p, ErrorCode::TooLarge, "batch × channels = 2^40 × 2^40");
  p = valid_params();
  p.height = p.width = 1;
  p.kernel_h = p.kernel_w = 1;
  p.pad_h = p.pad_w = int64_t{1} << 31;  // (2^32 + 1)^2 output pixels
  expect_plan_error(p, ErrorCode::TooLarge, "output height × width (2^32 + 1)^2 from padding");
  p = valid_params();
  p.channels = int64_t{1} << 40;
  p.kernel_h = p.kernel_w = 1 << 12;
  p.height = p.width = 1 << 12;
  p.batch = 0;
  expect_plan_error(p, ErrorCode::TooLarge, "weight elements 2^40 · 2^24");
  p = valid_params();
  p.kernel_h = 0;
  try {
    depthwise_weight_elements(p);
    check(false, "depthwise_weight_elements with kernel_h 0: no error");
  } catch (const Error& e) {
    check(e.code() == ErrorCode::OutOfRange,
          "depthwise_weight_elements with kernel_h 0: OutOfRange");
  }
  p = valid_params();
  p.kernel_w = 7;
  p.height = p.width = 0;  // the layer-level checks do not involve the image
  check(depthwise_weight_elements(p) == 4 * 3 * 7, "depthwise_weight_elements of C4 3×7");
}

// Output extents against PyTorch's formula, element counts, and convolutions with no output or no
// input (all padding: every output is act(bias)).
void DepthwiseSuite::check_derived_sizes() {
  for (int64_t extent = 0; extent <= 9; ++extent) {
    for (int64_t kernel = 1; kernel <= 5; ++kernel) {
      for (int64_t pad = 0; pad <= 3; ++pad) {
        for (int64_t stride = 1; stride <= 3; ++stride) {
          for (int64_t dilation = 1; dilation <= 2; ++dilation) {
            DepthwiseParams p = valid_params();
            p.height = extent;
            p.kernel_h = kernel;
            p.pad_h = pad;
            p.stride_h = stride;
            p.dilation_h = dilation;
            const int64_t expected = reference_depthwise_extent(extent, kernel, stride, pad, dilation);
            if (expected < 0) continue;  // check_case covers the errors
            const DepthwisePlan plan = make_depthwise_plan(p);
            check(plan.out_height == expected,
                  "H " + std::to_string(extent) + " kernel " + std::to_string(kernel) + " pad " +
                      std::to_string(pad) + " stride " + std::to_string(stride) + " dilation " +
                      std::to_string(dilation) + ": out_height " + std::to_string(plan.out_height) +
                      ", expected " + std::to_string(expected));
          }
        }
      }
    }
  }
  DepthwiseParams p = valid_params();
  p.batch = 2;
  p.channels = 6;
  p.height = 7;
  p.width = 9;
  p.kernel_w = 5;
  p.stride_w = 2;
  p.pad_h = 1;
  const DepthwisePlan plan = make_depthwise_plan(p);
  check(plan.input_elements == 2 * 6 * 7 * 9 && plan.weight_elements == 6 * 3 * 5 &&
            plan.output_elements == 2 * 6 * 7 * 3,
        "element counts of N2 C6 H7 W9 kernel 3×5 stride 1×2 pad 1×0");

  for (bool with_bias : {false, true}) {
    DepthwiseParams q = valid_params();
    q.batch = 0;
    check_case(q, with_bias);  // no output at all
    q = valid_params();
    q.height = q.width = 0;
    q.kernel_h = q.kernel_w = 3;
    q.pad_h = q.pad_w = 2;  // a 2×2 output that sees only padding
    q.activation = Activation::Sigmoid;  // act(0) = 0.5: an unwritten zero would show
    check_case(q, with_bias);
    q.width = 3;
    q.height = 0;
    check_case(q, with_bias);
  }
  // Extreme padding and stride that pass validation must not overflow the valid column ranges.
  p = valid_params();
  p.height = p.width = 1;
  p.kernel_h = p.kernel_w = 1;
  p.pad_h = p.pad_w = (int64_t{1} << 61) - 1;
  p.stride_h = p.stride_w = std::numeric_limits<int64_t>::max();
  const DepthwisePlan extreme = make_depthwise_plan(p);
  check(extreme.out_height == 1 && extreme.out_width == 1 && extreme.ow_begin[0] == 1 &&
            extreme.ow_end[0] == 1,
        "extreme pad/stride: one output that reads only padding");
}

void DepthwiseSuite::run() {
  check_plan_errors();
  check_derived_sizes();
  sweep_square();
  sweep_rectangular();
  sweep_activations();
  sweep_thread_split();
  check_nan_propagation();
  std::printf("depthwise: %ld cases against the float64 oracle, max error %.3f of tolerance\n",
              cases_, max_error_ratio_);
}

}  // namespace

void run_depthwise_tests() {
  DepthwiseSuite suite;
  suite.run();
}

}  // namespace test
}  // namespace conv1x1
