#include "backends_under_test.h"

#include <cstdio>

#include "../gemm/pointwise_selection.h"
#include "../platform/cpu_features.h"

namespace conv1x1 {
namespace test {
namespace {

// The lower levels run on a higher-level CPU too, so all of them are tested: on x86-64 the SSE2
// baseline and each AVX level, on arm64 the portable (scalar) kernels beside the NEON ones.
std::vector<SimdLevel> supported_levels() {
  const SimdLevel best = detect_simd_level();
  if (best == SimdLevel::Avx512f) return {SimdLevel::Sse2, SimdLevel::Avx2Fma, SimdLevel::Avx512f};
  if (best == SimdLevel::Avx2Fma) return {SimdLevel::Sse2, SimdLevel::Avx2Fma};
  if (best == SimdLevel::Neon) return {SimdLevel::Scalar, SimdLevel::Neon};
  return {best};
}

std::string thread_label(int threads) {
  return threads == 1 ? "1 thread" : std::to_string(threads) + " threads";
}

}  // namespace

std::vector<const kernels::PointwiseKernels*> supported_pointwise_kernels() {
  std::vector<const kernels::PointwiseKernels*> sets;
  for (SimdLevel level : supported_levels()) sets.push_back(&pointwise_kernels_for(level));
  return sets;
}

BackendsUnderTest::BackendsUnderTest() {
  for (const kernels::PointwiseKernels* set : supported_pointwise_kernels()) {
    for (TileShape shape : {TileShape::Pixels, TileShape::Channels}) {
      for (int threads : {1, 2}) {
        BackendUnderTest backend;
        backend.label = std::string("pointwise ") + set->isa +
                        (shape == TileShape::Pixels ? " pixel tiles, " : " channel tiles, ") +
                        thread_label(threads);
        backend.threads = threads;
        backend.pointwise = set;
        backend.shape = shape;
        all_.push_back(backend);
      }
    }
  }
  for (SimdLevel level : supported_levels()) {
    builtins_.emplace_back(new BuiltinBackend(level));
    for (int threads : {1, 2}) {
      all_.push_back({std::string("builtin ") + simd_level_name(level) + ", " +
                          thread_label(threads),
                      builtins_.back().get(), threads});
    }
  }
  std::string error;
  blas_ = BlasBackend::load("libopenblas.so.0", &best_builtin(), &error);
  if (!blas_) {
    std::printf("note: BLAS cases skipped, libopenblas.so.0 did not load: %s\n", error.c_str());
    return;
  }
  for (int threads : {1, 2}) {
    all_.push_back({std::string(blas_->name()) + ", " + thread_label(threads), blas_.get(), threads});
  }
}

}  // namespace test
}  // namespace conv1x1
