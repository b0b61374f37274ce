// make_plan: every invalid parameter raises conv1x1::Error with the right code, derived sizes match
// PyTorch's, and convolutions with an empty dimension produce act(bias) without reaching the GEMM.
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../core/conv1x1.h"
#include "../core/error.h"
#include "../core/plan.h"
#include "../core/work_split.h"
#include "../gemm/builtin_backend.h"
#include "check.h"
#include "expect_error.h"
#include "compare.h"
#include "counting_backend.h"
#include "random_tensor.h"
#include "reference.h"
#include "suites.h"

namespace conv1x1 {
namespace test {
namespace {

ConvParams valid_params() {
  ConvParams p;
  p.batch = 1;
  p.in_channels = 4;
  p.height = 3;
  p.width = 3;
  p.out_channels = 4;
  return p;
}

void expect_plan_error(const ConvParams& params, ErrorCode expected, const std::string& what) {
  expect_error([&] { make_plan(params); }, expected, what);
}

void test_invalid_parameters() {
  struct Case {
    const char* what;
    int64_t ConvParams::*field;
    int64_t value;
    ErrorCode code;
  };
  const int64_t big = int64_t{1} << 40;
  const Case cases[] = {
      {"batch -1", &ConvParams::batch, -1, ErrorCode::OutOfRange},
      {"in_channels -4", &ConvParams::in_channels, -4, ErrorCode::OutOfRange},
      {"height -1", &ConvParams::height, -1, ErrorCode::OutOfRange},
      {"width -3", &ConvParams::width, -3, ErrorCode::OutOfRange},
      {"out_channels -1", &ConvParams::out_channels, -1, ErrorCode::OutOfRange},
      {"stride_h 0", &ConvParams::stride_h, 0, ErrorCode::OutOfRange},
      {"stride_w 0", &ConvParams::stride_w, 0, ErrorCode::OutOfRange},
      {"stride_h -2", &ConvParams::stride_h, -2, ErrorCode::OutOfRange},
      {"pad_h -1", &ConvParams::pad_h, -1, ErrorCode::OutOfRange},
      {"pad_w -1", &ConvParams::pad_w, -1, ErrorCode::OutOfRange},
      {"groups 0", &ConvParams::groups, 0, ErrorCode::OutOfRange},
      {"groups -2", &ConvParams::groups, -2, ErrorCode::OutOfRange},
      {"groups 3 with 4 channels", &ConvParams::groups, 3, ErrorCode::ShapeMismatch},
      {"groups 8 with 4 channels", &ConvParams::groups, 8, ErrorCode::ShapeMismatch},
      {"pad_h 2^62 (2·pad overflows)", &ConvParams::pad_h, int64_t{1} << 62, ErrorCode::TooLarge},
      {"pad_w INT64_MAX", &ConvParams::pad_w, std::numeric_limits<int64_t>::max(),
       ErrorCode::TooLarge},
  };
  for (const Case& c : cases) {
    ConvParams p = valid_params();
    p.*(c.field) = c.value;
    expect_plan_error(p, c.code, c.what);
  }

  ConvParams p = valid_params();
  p.out_channels = 6;
  p.groups = 4;  // divides in_channels (4) but not out_channels (6)
  expect_plan_error(p, ErrorCode::ShapeMismatch, "groups 4 with 6 out_channels");

  p = valid_params();
  p.negative_slope = std::nanf("");
  expect_plan_error(p, ErrorCode::OutOfRange, "negative_slope NaN");

  p = valid_params();
  p.height = p.width = big;
  expect_plan_error(p, ErrorCode::TooLarge, "height × width = 2^40 × 2^40");
  p = valid_params();
  p.batch = p.in_channels = p.out_channels = big;
  expect_plan_error(p, ErrorCode::TooLarge, "batch × in_channels = 2^40 × 2^40");
  p = valid_params();
  p.in_channels = p.out_channels = big;
  p.height = p.width = 0;
  expect_plan_error(p, ErrorCode::TooLarge, "weight elements 2^40 × 2^40");
  p = valid_params();
  p.height = p.width = 1;
  p.pad_h = p.pad_w = int64_t{1} << 31;
  expect_plan_error(p, ErrorCode::TooLarge, "output height × width (2^32 + 1)^2 from padding");
  // 2^62 elements still fit 64 bits; their 2^64 bytes do not. One tensor at a time is too large.
  const int64_t half = int64_t{1} << 31;
  p = valid_params();
  p.in_channels = p.out_channels = 1;
  p.height = p.width = half;
  p.stride_h = p.stride_w = half;  // a 1×1 output
  expect_plan_error(p, ErrorCode::TooLarge, "input bytes 4 · 2^62");
  p = valid_params();
  p.in_channels = p.out_channels = 1;
  p.height = p.width = 1;
  p.pad_h = p.pad_w = int64_t{1} << 30;  // (2^31 + 1)^2 output pixels
  expect_plan_error(p, ErrorCode::TooLarge, "output bytes 4 · (2^31 + 1)^2");
  p = valid_params();
  p.batch = p.height = p.width = 0;
  p.in_channels = p.out_channels = half;
  expect_plan_error(p, ErrorCode::TooLarge, "weight bytes 4 · 2^62");
}

// Output extents and the inner rectangle, against a brute-force count of the output pixels whose
// input pixel lies inside the image.
void test_derived_sizes() {
  for (int64_t extent = 0; extent <= 9; ++extent) {
    for (int64_t pad = 0; pad <= 3; ++pad) {
      for (int64_t stride = 1; stride <= 4; ++stride) {
        ConvParams p = valid_params();
        p.height = extent;
        p.width = 3;
        p.pad_h = pad;
        p.stride_h = stride;
        const ConvPlan plan = make_plan(p);
        const int64_t expected_out = reference_out_extent(extent, pad, stride);
        int64_t inside = 0, first_inside = -1;
        for (int64_t o = 0; o < expected_out; ++o) {
          const int64_t i = o * stride - pad;
          if (i >= 0 && i < extent) {
            ++inside;
            if (first_inside < 0) first_inside = o;
          }
        }
        const std::string what = "H " + std::to_string(extent) + " pad " + std::to_string(pad) +
                                 " stride " + std::to_string(stride);
        check(plan.out_height == expected_out,
              what + ": out_height " + std::to_string(plan.out_height) + ", expected " +
                  std::to_string(expected_out));
        check(plan.inner_oh_end - plan.inner_oh_begin == inside &&
                  (inside == 0 || plan.inner_oh_begin == first_inside),
              what + ": inner rows [" + std::to_string(plan.inner_oh_begin) + ", " +
                  std::to_string(plan.inner_oh_end) + "), expected " + std::to_string(inside) +
                  " from " + std::to_string(first_inside));
        check(plan.direct == (stride == 1 && pad == 0), what + ": direct flag");
      }
    }
  }
  ConvParams p = valid_params();
  p.batch = 2;
  p.in_channels = 6;
  p.out_channels = 9;
  p.groups = 3;
  p.height = 5;
  p.width = 7;
  p.stride_w = 2;
  p.pad_h = 1;
  const ConvPlan plan = make_plan(p);
  check(plan.input_elements == 2 * 6 * 5 * 7 && plan.weight_elements == 9 * 2 &&
            plan.output_elements == 2 * 9 * 7 * 4 && plan.in_channels_per_group == 2 &&
            plan.out_channels_per_group == 3,
        "element counts of N2 Cin6 Cout9 g3 H5 W7 stride 1×2 pad 1×0");
}

std::string describe(const ConvParams& p) {
  return "N" + std::to_string(p.batch) + " Cin" + std::to_string(p.in_channels) + " Cout" +
         std::to_string(p.out_channels) + " H" + std::to_string(p.height) + " W" +
         std::to_string(p.width) + " stride " + std::to_string(p.stride_h) + " pad " +
         std::to_string(p.pad_h) + " groups " + std::to_string(p.groups) +
         (p.layout == Layout::NCHW ? " NCHW" : " NHWC");
}

// No input reaches the output: the result is act(bias) (or empty) and the GEMM is never called.
void test_empty_dimensions() {
  const BuiltinBackend builtin(SimdLevel::Sse2);
  CountingBackend counting(builtin);
  std::mt19937 rng(7);
  struct Case {
    const char* what;
    int64_t batch, in_channels, out_channels, height, width, pad, stride, groups;
  };
  const Case cases[] = {
      {"batch 0", 0, 4, 5, 3, 3, 0, 1, 1},
      {"in_channels 0", 2, 0, 5, 3, 4, 0, 1, 1},
      {"in_channels 0, groups 5", 1, 0, 5, 2, 2, 1, 1, 5},
      {"out_channels 0", 2, 4, 0, 3, 3, 0, 1, 1},
      {"height 0", 1, 4, 5, 0, 6, 0, 1, 1},
      {"width 0", 2, 4, 5, 6, 0, 0, 2, 1},
      {"height·width 0 with padding 1: a border only", 1, 4, 3, 0, 0, 1, 1, 1},
      {"stride skips every input pixel", 2, 4, 3, 1, 1, 2, 3, 1},
      // Found by fuzz_plan: no product of the sizes may overflow when another extent is zero.
      {"width 0, height INT64_MAX", 7, 1, 1, std::numeric_limits<int64_t>::max(), 0, 0, 1, 1},
      {"height 0, width INT64_MAX", 3, 2, 2, 0, std::numeric_limits<int64_t>::max(), 0, 1, 1},
  };
  for (const Case& c : cases) {
    for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
      for (bool with_bias : {false, true}) {
        ConvParams p;
        p.batch = c.batch;
        p.in_channels = c.in_channels;
        p.out_channels = c.out_channels;
        p.height = c.height;
        p.width = c.width;
        p.pad_h = p.pad_w = c.pad;
        p.stride_h = p.stride_w = c.stride;
        p.groups = c.groups;
        p.layout = layout;
        p.activation = Activation::Sigmoid;  // act(0) = 0.5: an unwritten zero would show
        const std::string what = std::string(c.what) + " (" + describe(p) +
                                 (with_bias ? ", bias)" : ")");
        ConvPlan plan;
        try {
          plan = make_plan(p);
        } catch (const Error& e) {
          check(false, what + ": make_plan threw " + e.what());
          continue;
        }
        const std::vector<float> input = random_floats(plan.input_elements, 1.0f, rng);
        const std::vector<float> weight = random_floats(plan.weight_elements, 1.0f, rng);
        const std::vector<float> bias = random_floats(p.out_channels, 2.0f, rng);
        std::vector<float> output(static_cast<size_t>(plan.output_elements), std::nanf(""));
        ConvTensors tensors;
        tensors.input = input.data();
        tensors.weight = weight.data();
        tensors.bias = with_bias ? bias.data() : nullptr;
        tensors.output = output.data();
        counting.reset();
        run_conv(plan, tensors, counting, 1);
        check(counting.calls() == 0,
              what + ": GEMM called " + std::to_string(counting.calls()) + " times");
        const Comparison comparison = compare_to_reference(
            output, reference_conv(p, input, weight, tensors.bias));
        check(comparison.ok, what + ": " + comparison.first_mismatch);
      }
    }
  }
  // The counting backend does see the calls of a convolution that has work in it.
  ConvParams p = valid_params();
  const ConvPlan plan = make_plan(p);
  const std::vector<float> input = random_floats(plan.input_elements, 1.0f, rng);
  const std::vector<float> weight = random_floats(plan.weight_elements, 1.0f, rng);
  std::vector<float> output(static_cast<size_t>(plan.output_elements));
  ConvTensors tensors;
  tensors.input = input.data();
  tensors.weight = weight.data();
  tensors.output = output.data();
  counting.reset();
  run_conv(plan, tensors, counting, 1);
  check(counting.calls() == 1, "a 4→4 channel convolution makes one GEMM call, made " +
                                   std::to_string(counting.calls()));
}

}  // namespace

// Extreme padding and stride that pass validation must not overflow while the plan locates the
// output pixels that see the input (ceil(pad / stride) once wrapped and pointed before the input).
void test_extreme_padding_and_stride() {
  ConvParams p = valid_params();
  p.height = p.width = 1;
  p.pad_h = (int64_t{1} << 62) - 1;
  p.stride_h = std::numeric_limits<int64_t>::max();
  const ConvPlan plan = make_plan(p);
  check(plan.out_height == 1, "extreme pad/stride: one output row");
  check(plan.inner_oh_begin == plan.inner_oh_end, "extreme pad/stride: that row is all padding");
  check(plan.inner_pixels() == 0, "extreme pad/stride: no output pixel reads the input");
}

// How a call's work is cut for its threads: every thread gets work, blocks that would leave a thread
// idle part of the time are cut further, and nothing is cut below a piece worth a thread.
void test_work_split() {
  const double big = 1e9, tiny = 1.0;
  struct Case {
    int64_t blocks;
    double macs;
    int threads;
    int64_t expected;
  };
  const Case cases[] = {
      {1, big, 2, 2},   {1, big, 1, 1},   {1, tiny, 2, 1},  {2, big, 2, 1},  {3, big, 2, 2},
      {3, tiny, 2, 1},  {5, big, 2, 2},   {7, big, 2, 2},   {8, big, 2, 1},  {9, big, 2, 1},
      {2, big, 3, 2},   {4, big, 3, 3},   {6, big, 4, 2},   {3, big, 4, 2},  {16, big, 4, 1},
  };
  for (const Case& c : cases) {
    const int64_t got = pieces_per_block(c.blocks, c.macs, c.threads);
    check(got == c.expected, "pieces_per_block(" + std::to_string(c.blocks) + " blocks, " +
                                 std::to_string(c.threads) + " threads): " + std::to_string(got) +
                                 ", expected " + std::to_string(c.expected));
  }
  check(even_piece(784, 2, 48) == 432 && even_piece(64, 2, 1) == 32 && even_piece(10, 3, 1) == 4,
        "even_piece cuts whole quanta");
}

void run_plan_tests() {
  test_work_split();
  test_invalid_parameters();
  test_derived_sizes();
  test_extreme_padding_and_stride();
  test_empty_dimensions();
}

}  // namespace test
}  // namespace conv1x1
