#pragma once
// Our own GEMM: the cache-blocked kernel built for the best instruction set this CPU offers.
#include "../platform/cpu_features.h"
#include "gemm.h"

namespace conv1x1 {

class BuiltinBackend : public GemmBackend {
 public:
  explicit BuiltinBackend(SimdLevel level);
  void sgemm(const GemmArgs& args) const override;
  const char* name() const override { return "builtin"; }
  SimdLevel simd_level() const { return level_; }

 private:
  using Kernel = void (*)(const GemmArgs&);
  SimdLevel level_;
  Kernel kernel_;
};

}  // namespace conv1x1
