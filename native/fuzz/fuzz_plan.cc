// make_plan and make_depthwise_plan on arbitrary 64-bit parameters (small, huge, negative, powers of
// two and their neighbours, raw bits) and any negative_slope bits, NaN included: each must return a
// plan or throw conv1x1::Error, and a plan's sizes must be the exact (128-bit) products. A plan small
// enough to run is then run, so that index arithmetic with huge strides or padding meets the sanitizers;
// the 1×1 convolution is also compared with the float64 reference.
#include <cmath>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "../core/conv1x1.h"
#include "../core/depthwise.h"
#include "../core/error.h"
#include "../test/compare.h"
#include "../test/reference.h"
#include "fuzz_input.h"

namespace conv1x1 {
namespace fuzz {
namespace {

using Wide = __int128;
constexpr int64_t kRunLimit = 4096;  // elements of any one tensor, and output pixels, to run a plan
constexpr float kRunSlope = 16.0f;   // beyond it, leaky_relu's float product may overflow where float64's does not

int64_t consume_size(FuzzedDataProvider& data) {
  switch (data.ConsumeIntegralInRange<int>(0, 7)) {
    case 0: case 1: case 2: case 3:
      return data.ConsumeIntegralInRange<int64_t>(-1, 8);
    case 4: case 5: {
      static const int64_t kEdges[] = {0,
                                       -1,
                                       1,
                                       std::numeric_limits<int64_t>::max(),
                                       std::numeric_limits<int64_t>::min(),
                                       std::numeric_limits<int64_t>::max() / 2,
                                       std::numeric_limits<int64_t>::max() / 4,
                                       std::numeric_limits<int32_t>::max(),
                                       int64_t{1} << 32,
                                       (int64_t{1} << 62) + 1,
                                       -(int64_t{1} << 62)};
      return kEdges[data.ConsumeIntegralInRange<size_t>(0, sizeof(kEdges) / sizeof(kEdges[0]) - 1)];
    }
    case 6:
      return data.ConsumeIntegral<int64_t>();
    default:
      return (int64_t{1} << data.ConsumeIntegralInRange<int>(0, 62)) +
             data.ConsumeIntegralInRange<int64_t>(-1, 1);
  }
}

float consume_any_float(FuzzedDataProvider& data) {
  if (data.ConsumeBool()) return consume_slope(data);
  const uint32_t bits = data.ConsumeIntegral<uint32_t>();
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// The product of non-negative sizes, exactly, or −1 once it passes INT64_MAX (never wraps: each
// partial product stays below 2^63 before it is multiplied by a factor below 2^63).
Wide exact_product(std::initializer_list<int64_t> factors) {
  for (int64_t f : factors) {
    if (f == 0) return 0;
  }
  Wide product = 1;
  for (int64_t f : factors) {
    product *= f;
    if (product > std::numeric_limits<int64_t>::max()) return -1;
  }
  return product;
}

void expect_size(int64_t got, std::initializer_list<int64_t> factors, const std::string& what) {
  if (Wide{got} != exact_product(factors)) {
    fail(what + " is " + std::to_string(got) + ", not the exact product");
  }
}

void fuzz_conv_plan(FuzzedDataProvider& data) {
  ConvParams p;
  p.batch = consume_size(data);
  p.in_channels = consume_size(data);
  p.height = consume_size(data);
  p.width = consume_size(data);
  p.out_channels = consume_size(data);
  p.stride_h = consume_size(data);
  p.stride_w = consume_size(data);
  p.pad_h = consume_size(data);
  p.pad_w = consume_size(data);
  p.groups = consume_size(data);
  p.layout = data.ConsumeBool() ? Layout::NHWC : Layout::NCHW;
  p.activation = consume_activation(data);
  p.negative_slope = consume_any_float(data);
  trace(describe(p, true, false));
  ConvPlan plan;
  try {
    plan = make_plan(p);
  } catch (const Error&) {
    return;
  } catch (const std::exception& e) {
    fail(std::string("make_plan threw a non-conv1x1 error: ") + e.what());
  }
  const int64_t out_h = test::reference_out_extent(p.height, p.pad_h, p.stride_h);
  const int64_t out_w = test::reference_out_extent(p.width, p.pad_w, p.stride_w);
  if (plan.out_height != out_h || plan.out_width != out_w) fail("make_plan: wrong output extent");
  expect_size(plan.input_elements, {p.batch, p.in_channels, p.height, p.width}, "input_elements");
  expect_size(plan.weight_elements, {p.out_channels, p.in_channels / p.groups}, "weight_elements");
  expect_size(plan.output_elements, {p.batch, p.out_channels, out_h, out_w}, "output_elements");
  if (plan.input_elements > kRunLimit || plan.weight_elements > kRunLimit ||
      plan.output_elements > kRunLimit || plan.out_pixels > kRunLimit || p.batch > kRunLimit ||
      p.out_channels > kRunLimit || !(std::fabs(p.negative_slope) <= kRunSlope)) {
    return;
  }
  const std::vector<float> input = consume_floats(data, plan.input_elements, 2.0f);
  const std::vector<float> weight = consume_floats(data, plan.weight_elements, 1.0f);
  const std::vector<float> bias = consume_floats(data, p.out_channels, 2.0f);
  std::vector<float> output(static_cast<size_t>(plan.output_elements), std::nanf(""));
  ConvTensors tensors;
  tensors.input = input.data();
  tensors.weight = weight.data();
  tensors.bias = bias.data();
  tensors.output = output.data();
  try {
    run_conv(plan, tensors, builtin_backends().back(), 2);
  } catch (const std::exception& e) {
    fail(std::string("run_conv threw ") + e.what());
  }
  const test::Comparison comparison =
      test::compare_to_reference(output, test::reference_conv(p, input, weight, bias.data()));
  if (!comparison.ok) fail("run_conv: " + comparison.first_mismatch);
}

void fuzz_depthwise_plan(FuzzedDataProvider& data) {
  DepthwiseParams p;
  p.batch = consume_size(data);
  p.channels = consume_size(data);
  p.height = consume_size(data);
  p.width = consume_size(data);
  p.kernel_h = consume_size(data);
  p.kernel_w = consume_size(data);
  p.stride_h = consume_size(data);
  p.stride_w = consume_size(data);
  p.pad_h = consume_size(data);
  p.pad_w = consume_size(data);
  p.dilation_h = consume_size(data);
  p.dilation_w = consume_size(data);
  p.activation = consume_activation(data);
  p.negative_slope = consume_any_float(data);
  trace(describe(p, true));
  DepthwisePlan plan;
  try {
    plan = make_depthwise_plan(p);
  } catch (const Error&) {
    return;
  } catch (const std::exception& e) {
    fail(std::string("make_depthwise_plan threw a non-conv1x1 error: ") + e.what());
  }
  expect_size(plan.input_elements, {p.batch, p.channels, p.height, p.width}, "input_elements");
  expect_size(plan.output_elements, {p.batch, p.channels, plan.out_height, plan.out_width},
              "output_elements");
  expect_size(plan.weight_elements, {p.channels, p.kernel_h, p.kernel_w}, "weight_elements");
  // The taps run_depthwise reads without a bounds check: outputs [ow_begin, ow_end) of column kw.
  for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
    const int64_t begin = plan.ow_begin[static_cast<size_t>(kw)];
    const int64_t end = plan.ow_end[static_cast<size_t>(kw)];
    if (begin < 0 || begin > end || end > plan.out_width) fail("ow range outside the output row");
    if (begin == end) continue;
    const Wide offset = Wide{kw} * p.dilation_w - p.pad_w;
    const Wide first = Wide{begin} * p.stride_w + offset, last = Wide{end - 1} * p.stride_w + offset;
    if (first < 0 || last >= p.width) fail("ow range reads outside the input row");
  }
  if (plan.input_elements > kRunLimit || plan.weight_elements > kRunLimit ||
      plan.output_elements > kRunLimit || !(std::fabs(p.negative_slope) <= kRunSlope)) {
    return;
  }
  const std::vector<float> input = consume_floats(data, plan.input_elements, 2.0f);
  const std::vector<float> weight = consume_floats(data, plan.weight_elements, 1.0f);
  const std::vector<float> bias = consume_floats(data, p.channels, 2.0f);
  std::vector<float> output(static_cast<size_t>(plan.output_elements), std::nanf(""));
  try {
    run_depthwise(plan, input.data(), weight.data(), bias.data(), output.data(), 2);
  } catch (const std::exception& e) {
    fail(std::string("run_depthwise threw ") + e.what());
  }
  for (float y : output) {
    if (std::isnan(y)) fail("run_depthwise left an output unwritten (NaN)");
  }
}

}  // namespace
}  // namespace fuzz
}  // namespace conv1x1

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  FuzzedDataProvider data(bytes, size);
  if (data.ConsumeBool()) {
    conv1x1::fuzz::fuzz_depthwise_plan(data);
  } else {
    conv1x1::fuzz::fuzz_conv_plan(data);
  }
  return 0;
}
