#pragma once
// A GEMM backend that counts its calls and forwards them: proves that a path never reaches the GEMM
// (zero-size convolutions) or which of two backends a call was routed to.
#include <atomic>

#include "../gemm/gemm.h"

namespace conv1x1 {
namespace test {

class CountingBackend : public GemmBackend {
 public:
  explicit CountingBackend(const GemmBackend& inner) : inner_(inner) {}
  void sgemm(const GemmArgs& args) const override {
    ++calls_;
    inner_.sgemm(args);
  }
  const char* name() const override { return "counting"; }
  int calls() const { return calls_; }
  void reset() { calls_ = 0; }

 private:
  const GemmBackend& inner_;
  mutable std::atomic<int> calls_{0};  // run_conv may call from several threads
};

}  // namespace test
}  // namespace conv1x1
