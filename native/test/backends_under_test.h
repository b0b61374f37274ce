#pragma once
// Every engine this machine can run, each case is run on all of them: the packed pointwise kernels
// with both tile shapes and the blocked builtin GEMM at every SIMD level the CPU supports, with 1 and
// 2 threads, and OpenBLAS when it loads.
#include <memory>
#include <string>
#include <vector>

#include "../core/packed_weights.h"
#include "../gemm/blas_backend.h"
#include "../gemm/builtin_backend.h"
#include "../kernels/pointwise.h"

namespace conv1x1 {
namespace test {

struct BackendUnderTest {
  std::string label;  // e.g. "builtin avx2+fma, 2 threads"
  const GemmBackend* gemm = nullptr;
  int threads = 1;  // threads run_conv spreads its tiles over
  // Set: the case runs on these kernels with weights packed for `shape` (gemm is then unused).
  const kernels::PointwiseKernels* pointwise = nullptr;
  TileShape shape = TileShape::Channels;
};

// The pointwise kernel sets this CPU can run, lowest first.
std::vector<const kernels::PointwiseKernels*> supported_pointwise_kernels();

class BackendsUnderTest {
 public:
  BackendsUnderTest();
  const std::vector<BackendUnderTest>& all() const { return all_; }
  // The builtin kernel at the best level: the fallback of the BLAS backend.
  const BuiltinBackend& best_builtin() const { return *builtins_.back(); }

 private:
  std::vector<std::unique_ptr<BuiltinBackend>> builtins_;
  std::unique_ptr<BlasBackend> blas_;
  std::vector<BackendUnderTest> all_;
};

}  // namespace test
}  // namespace conv1x1
