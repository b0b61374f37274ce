#pragma once
// The one dispatch point: which GEMM backend runs the convolutions of this process. Chosen once, on
// first use, from CONV1X1_BLAS and the libraries the machine has; observable through info().
//   CONV1X1_BLAS unset      try the platform's usual CBLAS libraries, else the builtin kernel
//   CONV1X1_BLAS=none       the builtin kernel
//   CONV1X1_BLAS=/path/lib  that library, or an error (never a silent fallback)
// With a BLAS loaded, each convolution runs on whichever of it and the builtin kernels is faster for
// its shape (engine_for); select() can force one for the whole process.
#include <memory>
#include <string>
#include <vector>

#include "../core/plan.h"
#include "blas_backend.h"
#include "builtin_backend.h"
#include "pointwise_selection.h"

namespace conv1x1 {

struct BackendInfo {
  std::string name;     // "openblas", "mkl", "blis", "flexiblas", "accelerate", "blas" or "builtin"
  std::string path;     // the library file, empty for builtin
  std::string version;  // what the library reports about itself
  std::string simd;     // best vector ISA of this CPU
  std::string kernels;  // the ISA the builtin kernels use (simd, or lower with CONV1X1_ISA)
  std::string kernels_note;  // why kernels is not simd
  std::string selection;  // "auto" (per shape), "blas" or "builtin"
  std::string engine_note;  // why CONV1X1_ENGINE was ignored, when it was
  std::string blas_note;  // why no BLAS is in use, when none is
  int threads = 1;        // threads one call may use
  int max_concurrent_calls = 1;
  int cores = 1;
  std::vector<std::string> available;  // backends this process can run: "blas" and/or "builtin"
};

// What runs one convolution: the packed builtin kernels when pointwise is set, else the GEMM backend.
struct ConvEngine {
  const GemmBackend* gemm = nullptr;
  const kernels::PointwiseKernels* pointwise = nullptr;
};

class BackendRegistry {
 public:
  static BackendRegistry& instance();

  // The backend convolutions run on; throws Error(BackendLoad) when CONV1X1_BLAS named a library
  // that could not be used.
  const GemmBackend& active() const;
  // The engine for this plan under the current selection (throws as active() does).
  ConvEngine engine_for(const ConvPlan& plan) const;
  const kernels::PointwiseKernels& pointwise() const { return *pointwise_; }
  BackendInfo info() const;
  // Threads per call; the number of concurrent calls becomes cores / threads. Waits for running calls.
  void set_threads(int threads);
  int threads() const;
  int cores() const { return cores_; }
  // Switches between "auto", "blas" and "builtin" (for tests and benchmarks that run every case on
  // every backend). Returns false when that backend is not available in this process.
  bool select(const std::string& kind);

 private:
  BackendRegistry();
  void choose_blas();

  IsaChoice isa_;
  const kernels::PointwiseKernels* pointwise_ = nullptr;
  std::unique_ptr<BuiltinBackend> builtin_;
  std::unique_ptr<BlasBackend> blas_;
  std::string load_error_;  // set when an explicitly named library failed
  std::string blas_note_;
  std::string engine_note_;
  int cores_ = 1;
};

}  // namespace conv1x1
