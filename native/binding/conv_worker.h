#pragma once
// Async convolution: an AsyncWorker whose Execute touches only memory the job owns, settled as a
// promise. Per environment, workers wait in a queue and at most as many run as there are compute
// slots, so long calls never occupy the whole libuv pool (which fs and dns share).
#include <napi.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "../core/error.h"
#include "conv_job.h"
#include "scratch_pool.h"

namespace conv1x1 {
namespace binding {

class AsyncScheduler;

class ConvWorker : public Napi::AsyncWorker {
 public:
  // output: a Float32Array created for this call (written in place), or the caller's `out`
  // (written on completion from a private result buffer, if it is still attached and the same size).
  // input: a private snapshot of the caller's input, taken on the JS thread when the call is made.
  ConvWorker(Napi::Env env, AsyncScheduler* scheduler, ConvPlan plan, ScratchBuffer input,
             std::shared_ptr<const PreparedWeights> weights, Napi::Float32Array output,
             bool output_is_callers);

  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  void settle_ok();

  AsyncScheduler* scheduler_;
  Napi::Promise::Deferred deferred_;
  ConvPlan plan_;
  ScratchBuffer input_;
  std::shared_ptr<const PreparedWeights> weights_;
  Napi::Reference<Napi::Float32Array> output_ref_;
  bool output_is_callers_;
  float* output_data_ = nullptr;
  ScratchBuffer result_;
  ErrorCode error_code_ = ErrorCode::OutOfMemory;
  bool core_error_ = false;
};

class AsyncScheduler {
 public:
  ~AsyncScheduler();
  void submit(ConvWorker* worker);
  void finished();
  int running() const { return running_; }

 private:
  void pump();
  std::deque<ConvWorker*> waiting_;
  int running_ = 0;
};

}  // namespace binding
}  // namespace conv1x1
