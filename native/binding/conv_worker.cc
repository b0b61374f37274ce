#include "conv_worker.h"

#include <cstring>

#include "../platform/compute_slots.h"
#include "js_errors.h"

namespace conv1x1 {
namespace binding {

ConvWorker::ConvWorker(Napi::Env env, AsyncScheduler* scheduler, ConvPlan plan,
                       ScratchBuffer input, std::shared_ptr<const PreparedWeights> weights,
                       Napi::Float32Array output, bool output_is_callers)
    : Napi::AsyncWorker(env, "conv1x1"),
      scheduler_(scheduler),
      deferred_(Napi::Promise::Deferred::New(env)),
      plan_(plan),
      input_(std::move(input)),
      weights_(std::move(weights)),
      output_ref_(Napi::Persistent(output)),
      output_is_callers_(output_is_callers) {
  if (output_is_callers_) {
    result_ = ScratchBuffer(static_cast<size_t>(plan_.output_elements));
    output_data_ = result_.data();
  } else {
    output_data_ = output.Data();  // a fresh array only this call can see until it resolves
  }
}

void ConvWorker::Execute() {
  try {
    run_on_active_backend(plan_, input_.data(), weights_->weight.data(), weights_->pretransposed,
                          weights_->bias.empty() ? nullptr : weights_->bias.data(), output_data_);
  } catch (const Error& error) {
    core_error_ = true;
    error_code_ = error.code();
    SetError(error.what());
  } catch (const std::bad_alloc&) {
    core_error_ = true;
    error_code_ = ErrorCode::OutOfMemory;
    SetError("out of memory while running the convolution");
  }
}

// Completion runs on the JS thread, but also while a worker_thread's environment is being torn down
// (Node drains finished work before its cleanup hooks). Then every N-API call fails and nobody is
// left to receive the result, so the failure is dropped instead of escaping as a C++ exception.
void ConvWorker::OnOK() {
  try {
    scheduler_->finished();
    settle_ok();
  } catch (const Napi::Error&) {
  }
}

void ConvWorker::OnError(const Napi::Error& error) {
  try {
    scheduler_->finished();
    Napi::Env env = Env();
    if (core_error_) {
      deferred_.Reject(make_js_error(env, Error(error_code_, error.Message())).Value());
    } else {
      deferred_.Reject(error.Value());
    }
  } catch (const Napi::Error&) {
  }
}

void ConvWorker::settle_ok() {
  Napi::Env env = Env();
  Napi::Float32Array output = output_ref_.Value();
  if (output_is_callers_) {
    // The caller's array may have been detached, transferred or resized while we ran.
    if (output.ArrayBuffer().IsDetached() ||
        static_cast<int64_t>(output.ElementLength()) != plan_.output_elements) {
      deferred_.Reject(make_js_error(env, JsErrorKind::Type, "ERR_BUFFER_DETACHED",
                                     "out was detached or resized while the call ran; "
                                     "the result was discarded")
                           .Value());
      return;
    }
    if (result_.size() > 0) {
      std::memcpy(output.Data(), result_.data(), result_.size() * sizeof(float));
    }
  }
  deferred_.Resolve(output);
}

AsyncScheduler::~AsyncScheduler() {
  // The environment is going away: calls that never started are dropped with it.
  for (ConvWorker* worker : waiting_) delete worker;
}

void AsyncScheduler::submit(ConvWorker* worker) {
  waiting_.push_back(worker);
  pump();
}

void AsyncScheduler::finished() {
  --running_;
  pump();
}

void AsyncScheduler::pump() {
  while (!waiting_.empty() && running_ < ComputeSlots::instance().slots()) {
    ConvWorker* worker = waiting_.front();
    try {
      worker->Queue();
    } catch (const Napi::Error&) {
      return;  // the environment is shutting down; the destructor frees what still waits
    }
    waiting_.pop_front();
    ++running_;
  }
}

}  // namespace binding
}  // namespace conv1x1
