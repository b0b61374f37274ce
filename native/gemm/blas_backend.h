#pragma once
// A CBLAS library loaded at run time (never linked), so the addon loads on machines without one.
// BLAS takes 32-bit ints: a larger M is split into several calls, and a leading dimension that does
// not fit (which is what any too-large N or K implies) is computed by the fallback backend instead;
// BLAS never sees an illegal argument.
#include <cstdint>
#include <memory>
#include <string>

#include "../platform/dynamic_library.h"
#include "gemm.h"

namespace conv1x1 {

// cblas_sgemm with the CBLAS enums as the ints they are.
using CblasSgemm = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                            const float* a, int lda, const float* b, int ldb, float beta, float* c,
                            int ldc);

class BlasBackend : public GemmBackend {
 public:
  // Opens `library` and checks it; returns null with *error filled when it is not a usable LP64 CBLAS.
  // fallback (never null) computes what does not fit BLAS's 32-bit arguments.
  static std::unique_ptr<BlasBackend> load(const std::string& library, const GemmBackend* fallback,
                                           std::string* error);
  // Wraps a given sgemm (the native tests use it to check argument splitting).
  BlasBackend(CblasSgemm sgemm, const GemmBackend* fallback, int64_t int_limit);

  void sgemm(const GemmArgs& args) const override;
  const char* name() const override { return name_.c_str(); }
  const std::string& path() const { return path_; }
  const std::string& version() const { return version_; }
  // An optimized implementation that says what it is (OpenBLAS, MKL, BLIS, FlexiBLAS, Accelerate)
  // rather than a bare libblas, which may be the slow reference one.
  bool identified() const { return identified_; }
  // Sets the library's own thread count to 1 (where it has such a call) and stops its idle threads:
  // the core runs tiles on its own threads, and a BLAS pool would spin beside them.
  void use_single_thread() const;

 private:
  BlasBackend() = default;

  DynamicLibrary library_;
  CblasSgemm sgemm_ = nullptr;
  void (*set_threads_)(int) = nullptr;
  int (*shutdown_threads_)() = nullptr;
  bool threads_per_calling_thread_ = false;  // OpenMP OpenBLAS: set on every thread that calls
  const GemmBackend* fallback_ = nullptr;
  int64_t int_limit_ = 2147483647;
  std::string name_ = "blas", path_, version_;
  bool identified_ = false;
};

}  // namespace conv1x1
