// make_plan + run_conv on bounded random convolutions (batch ≤ 3, channels ≤ 24, H/W ≤ 12, stride
// ≤ 4, pad ≤ 4, either layout, every activation) against the float64 reference of native/test, on the
// builtin blocked GEMM and the packed pointwise kernels (both tile shapes) at every SIMD level, with 1
// and 2 threads. make_plan may only succeed or throw
// conv1x1::Error; outputs start as NaN, so one the core never writes is a mismatch too.
#include <cmath>
#include <exception>
#include <string>
#include <vector>

#include "../core/conv1x1.h"
#include "../core/error.h"
#include "../core/packed_weights.h"
#include "../gemm/pointwise_selection.h"
#include "../test/compare.h"
#include "../test/reference.h"
#include "fuzz_input.h"

namespace conv1x1 {
namespace fuzz {
namespace {

// Mostly groups that divide both channel counts; sometimes any 1–24, which make_plan may refuse.
ConvParams consume_params(FuzzedDataProvider& data, bool* groups_divide) {
  ConvParams p;
  p.batch = data.ConsumeIntegralInRange<int64_t>(0, 3);
  if (data.ConsumeIntegralInRange<int>(0, 7) == 0) {
    p.groups = data.ConsumeIntegralInRange<int64_t>(1, 24);
    p.in_channels = data.ConsumeIntegralInRange<int64_t>(0, 24);
    p.out_channels = data.ConsumeIntegralInRange<int64_t>(0, 24);
  } else {
    p.groups = data.ConsumeIntegralInRange<int64_t>(1, 8);
    p.in_channels = p.groups * data.ConsumeIntegralInRange<int64_t>(0, 24 / p.groups);
    p.out_channels = p.groups * data.ConsumeIntegralInRange<int64_t>(0, 24 / p.groups);
  }
  *groups_divide = p.in_channels % p.groups == 0 && p.out_channels % p.groups == 0;
  p.height = data.ConsumeIntegralInRange<int64_t>(0, 12);
  p.width = data.ConsumeIntegralInRange<int64_t>(0, 12);
  p.stride_h = data.ConsumeIntegralInRange<int64_t>(1, 4);
  p.stride_w = data.ConsumeIntegralInRange<int64_t>(1, 4);
  p.pad_h = data.ConsumeIntegralInRange<int64_t>(0, 4);
  p.pad_w = data.ConsumeIntegralInRange<int64_t>(0, 4);
  p.layout = data.ConsumeBool() ? Layout::NHWC : Layout::NCHW;
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
  bool groups_divide = false;
  const ConvParams p = consume_params(data, &groups_divide);
  const bool with_bias = data.ConsumeBool();
  const bool pretranspose = data.ConsumeBool();
  const float spread = data.ConsumeBool() ? 4.0f : 0.25f;

  trace(describe(p, with_bias, pretranspose));
  ConvPlan plan;
  try {
    plan = make_plan(p);
  } catch (const Error& e) {
    if (groups_divide) fail(describe(p, with_bias, false) + ": make_plan refused it: " + e.what());
    return 0;
  } catch (const std::exception& e) {
    fail(describe(p, with_bias, false) + ": make_plan threw a non-conv1x1 error: " + e.what());
  }
  if (!groups_divide) fail(describe(p, with_bias, false) + ": groups do not divide, yet planned");

  const std::vector<float> input = consume_floats(data, plan.input_elements, spread);
  const std::vector<float> weight = consume_floats(data, plan.weight_elements, 1.0f);
  const std::vector<float> bias = consume_floats(data, p.out_channels, spread);
  const float* bias_ptr = with_bias ? bias.data() : nullptr;
  const test::ReferenceOutput reference = test::reference_conv(p, input, weight, bias_ptr);

  std::vector<float> transposed;
  if (pretranspose) transposed = pretranspose_weights(plan, weight.data());
  const bool use_transposed = !transposed.empty();
  const std::string what = describe(p, with_bias, use_transposed);

  std::vector<float> output;
  // engine 0: the blocked GEMM; 1 and 2: the packed kernels with pixel and with channel tiles.
  for (const BuiltinBackend& backend : builtin_backends()) {
    const kernels::PointwiseKernels& pointwise = pointwise_kernels_for(backend.simd_level());
    for (int engine = 0; engine < 3; ++engine) {
      const TileShape shape = engine == 1 ? TileShape::Pixels : TileShape::Channels;
      if (engine == 1 && p.layout == Layout::NHWC) continue;  // pixel tiles read NCHW rows
      PackedWeights packed;
      if (engine > 0 && plan.in_channels_per_group > 0) {
        packed = pack_weights(plan, use_transposed ? transposed.data() : weight.data(), use_transposed,
                              bias_ptr, pointwise, shape);
      }
      for (int threads : {1, 2}) {
        output.assign(static_cast<size_t>(plan.output_elements), std::nanf(""));
        ConvTensors tensors;
        tensors.input = input.data();
        tensors.weight = use_transposed ? transposed.data() : weight.data();
        tensors.weight_pretransposed = use_transposed;
        tensors.bias = bias_ptr;
        tensors.output = output.data();
        if (engine > 0 && plan.in_channels_per_group > 0) tensors.packed = &packed;
        const std::string where =
            what + (engine == 0 ? " on builtin GEMM " : engine == 1 ? " on pixel tiles " : " on channel tiles ") +
            simd_level_name(backend.simd_level()) + ", " + std::to_string(threads) + " thread(s)";
        try {
          run_conv(plan, tensors, backend, threads);
        } catch (const std::exception& e) {
          fail(where + ": run_conv threw " + e.what());
        }
        const test::Comparison comparison = test::compare_to_reference(output, reference);
        if (!comparison.ok) fail(where + ": " + comparison.first_mismatch);
      }
    }
  }
  return 0;
}
