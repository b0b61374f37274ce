#pragma once
// What the fuzz targets share: bounded finite floats decoded from the fuzzer's bytes, the builtin
// backends this CPU runs, and a failure that prints why before it traps (libFuzzer then saves the input).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../core/conv_params.h"
#include "../core/depthwise.h"
#include "../gemm/builtin_backend.h"
#include "../kernels/pointwise.h"
#include "../platform/cpu_features.h"

namespace conv1x1 {
namespace fuzz {

// CONV1X1_FUZZ_VERBOSE=1 prints each case before it runs: for replaying a crasher by hand.
inline void trace(const std::string& what) {
  static const bool verbose = std::getenv("CONV1X1_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "conv1x1 fuzz case: %s\n", what.c_str());
}

[[noreturn]] inline void fail(const std::string& why) {
  std::fprintf(stderr, "conv1x1 fuzz: %s\n", why.c_str());
  std::fflush(stderr);
  __builtin_trap();
}

}  // namespace fuzz

// A kernel contract that does not hold is a finding like any other: libFuzzer keeps the input.
namespace kernels {
[[noreturn]] void contract_violated(const char* condition, const char* file, int line) {
  fuzz::fail(std::string("kernel contract ") + condition + " does not hold at " + file + ":" +
             std::to_string(line));
}
}  // namespace kernels

namespace fuzz {

// Values in [−limit, limit] on a grid of 2^16 steps; once the bytes run out they are all 0.
inline std::vector<float> consume_floats(FuzzedDataProvider& data, int64_t count, float limit) {
  std::vector<float> values(static_cast<size_t>(count));
  for (float& v : values) {
    v = (static_cast<float>(data.ConsumeIntegral<uint16_t>()) - 32768.0f) * (limit / 32768.0f);
  }
  return values;
}

inline Activation consume_activation(FuzzedDataProvider& data) {
  return static_cast<Activation>(
      data.ConsumeIntegralInRange<int>(0, static_cast<int>(Activation::Hardswish)));
}

inline float consume_slope(FuzzedDataProvider& data) {
  return data.ConsumeIntegralInRange<int>(-64, 64) / 32.0f;
}

// One line per case, for failure messages and CONV1X1_FUZZ_VERBOSE.
inline std::string describe(const ConvParams& p, bool bias, bool pretransposed) {
  return "N" + std::to_string(p.batch) + " Cin" + std::to_string(p.in_channels) + " Cout" +
         std::to_string(p.out_channels) + " g" + std::to_string(p.groups) + " H" +
         std::to_string(p.height) + " W" + std::to_string(p.width) + " stride " +
         std::to_string(p.stride_h) + "×" + std::to_string(p.stride_w) + " pad " +
         std::to_string(p.pad_h) + "×" + std::to_string(p.pad_w) +
         (p.layout == Layout::NCHW ? " NCHW" : " NHWC") + " activation " +
         std::to_string(static_cast<int>(p.activation)) + " slope " +
         std::to_string(p.negative_slope) + (bias ? " bias" : " no bias") +
         (pretransposed ? " pretransposed" : "");
}

inline std::string describe(const DepthwiseParams& p, bool bias) {
  auto pair = [](int64_t a, int64_t b) { return std::to_string(a) + "×" + std::to_string(b); };
  return "N" + std::to_string(p.batch) + " C" + std::to_string(p.channels) + " H" +
         std::to_string(p.height) + " W" + std::to_string(p.width) + " kernel " +
         pair(p.kernel_h, p.kernel_w) + " stride " + pair(p.stride_h, p.stride_w) + " pad " +
         pair(p.pad_h, p.pad_w) + " dilation " + pair(p.dilation_h, p.dilation_w) +
         " activation " + std::to_string(static_cast<int>(p.activation)) + " slope " +
         std::to_string(p.negative_slope) + (bias ? " bias" : " no bias");
}

// The builtin kernel at every level this CPU runs (on x86-64 the lower levels too), built once.
inline const std::vector<BuiltinBackend>& builtin_backends() {
  static const std::vector<BuiltinBackend> backends = [] {
    const SimdLevel best = detect_simd_level();
    std::vector<BuiltinBackend> all;
    if (best == SimdLevel::Avx2Fma || best == SimdLevel::Avx512f) all.emplace_back(SimdLevel::Sse2);
    if (best == SimdLevel::Avx512f) all.emplace_back(SimdLevel::Avx2Fma);
    all.emplace_back(best);
    return all;
  }();
  return backends;
}

}  // namespace fuzz
}  // namespace conv1x1
