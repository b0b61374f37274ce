// make_depthwise_plan + run_depthwise on bounded random cases (batch ≤ 3, channels 0–24, H/W ≤ 12,
// kernel 1–7, stride 1–4, pad 0–4, dilation 1–3, every activation) against a float64 oracle of plain
// loops with a bounds check per tap. A case PyTorch refuses (padded input smaller than the dilated
// kernel, or no channels) must raise conv1x1::Error; any other must plan, match the oracle within the
// K-scaled tolerance of native/test/compare.h, and give the same bits on 1 and 2 threads.
#include <cmath>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "../core/depthwise.h"
#include "../core/error.h"
#include "../test/compare.h"
#include "../test/reference.h"
#include "fuzz_input.h"

namespace conv1x1 {
namespace fuzz {
namespace {

DepthwiseParams consume_params(FuzzedDataProvider& data) {
  DepthwiseParams p;
  p.batch = data.ConsumeIntegralInRange<int64_t>(0, 3);
  p.channels = data.ConsumeIntegralInRange<int64_t>(0, 24);
  p.height = data.ConsumeIntegralInRange<int64_t>(0, 12);
  p.width = data.ConsumeIntegralInRange<int64_t>(0, 12);
  p.kernel_h = data.ConsumeIntegralInRange<int64_t>(1, 7);
  p.kernel_w = data.ConsumeIntegralInRange<int64_t>(1, 7);
  p.stride_h = data.ConsumeIntegralInRange<int64_t>(1, 4);
  p.stride_w = data.ConsumeIntegralInRange<int64_t>(1, 4);
  p.pad_h = data.ConsumeIntegralInRange<int64_t>(0, 4);
  p.pad_w = data.ConsumeIntegralInRange<int64_t>(0, 4);
  p.dilation_h = data.ConsumeIntegralInRange<int64_t>(1, 3);
  p.dilation_w = data.ConsumeIntegralInRange<int64_t>(1, 3);
  p.activation = consume_activation(data);
  p.negative_slope = consume_slope(data);
  return p;
}

}  // namespace
}  // namespace fuzz
}  // namespace conv1x1

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace conv1x1;
  using namespace conv1x1::fuzz;
  FuzzedDataProvider data(bytes, size);
  const DepthwiseParams p = consume_params(data);
  const bool with_bias = data.ConsumeBool();
  const float spread = data.ConsumeBool() ? 4.0f : 0.25f;
  const std::string what = describe(p, with_bias);
  trace(what);
  const int64_t oh = test::reference_depthwise_extent(p.height, p.kernel_h, p.stride_h, p.pad_h, p.dilation_h);
  const int64_t ow = test::reference_depthwise_extent(p.width, p.kernel_w, p.stride_w, p.pad_w, p.dilation_w);
  const bool valid = oh >= 0 && ow >= 0 && p.channels >= 1;

  DepthwisePlan plan;
  try {
    plan = make_depthwise_plan(p);
  } catch (const Error& e) {
    if (valid) fail(what + ": make_depthwise_plan refused it: " + e.what());
    return 0;
  } catch (const std::exception& e) {
    fail(what + ": make_depthwise_plan threw a non-conv1x1 error: " + e.what());
  }
  if (!valid) fail(what + ": planned, but PyTorch refuses it");
  if (plan.out_height != oh || plan.out_width != ow) {
    fail(what + ": planned " + std::to_string(plan.out_height) + "×" +
         std::to_string(plan.out_width) + " outputs, expected " + std::to_string(oh) + "×" +
         std::to_string(ow));
  }

  const std::vector<float> input = consume_floats(data, plan.input_elements, spread);
  const std::vector<float> weight = consume_floats(data, plan.weight_elements, 1.0f);
  const std::vector<float> bias = consume_floats(data, p.channels, spread);
  const float* bias_ptr = with_bias ? bias.data() : nullptr;
  test::ReferenceOutput reference = test::reference_depthwise(p, input, weight, bias_ptr);
  reference.depth += 1;  // the bias counts as one more term of the sum

  std::vector<float> outputs[2];
  for (int threads : {1, 2}) {
    std::vector<float>& output = outputs[threads - 1];
    output.assign(static_cast<size_t>(plan.output_elements), std::nanf(""));
    const std::string where = what + ", " + std::to_string(threads) + " thread(s)";
    try {
      run_depthwise(plan, input.data(), weight.data(), bias_ptr, output.data(), threads);
    } catch (const std::exception& e) {
      fail(where + ": run_depthwise threw " + e.what());
    }
    const test::Comparison comparison = test::compare_to_reference(output, reference);
    if (!comparison.ok) fail(where + ": " + comparison.first_mismatch);
  }
  const size_t output_bytes = outputs[0].size() * sizeof(float);
  if (output_bytes != 0 && std::memcmp(outputs[0].data(), outputs[1].data(), output_bytes) != 0) {
    fail(what + ": 1 and 2 threads give different bits");
  }
  return 0;
}
