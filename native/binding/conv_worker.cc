#include "conv_worker.h"

#include <cstring>
#include <string>

#include "addon_state.h"
#include "js_errors.h"

namespace conv1x1 {
namespace binding {

void throw_queue_full(Napi::Env env, int64_t bytes) {
  QueueBudget& budget = QueueBudget::instance();
  const QueueLimits limits = budget.limits();
  throw_domain_error(env, "ERR_QUEUE_FULL",
                     "too many async calls in flight: " + std::to_string(budget.calls()) + " calls holding " +
                         std::to_string(budget.bytes()) + " bytes, and this one needs " + std::to_string(bytes) +
                         " more (limits: " + std::to_string(limits.calls) + " calls, " +
                         std::to_string(limits.bytes) +
                         " bytes); retry when some have settled, or raise the limits with setQueueLimits()");
}

QueueTicket admit_async_call(Napi::Env env, int64_t input_floats, int64_t output_floats) {
  const int64_t bytes = (input_floats + output_floats) * static_cast<int64_t>(sizeof(float));
  QueueTicket ticket = QueueBudget::instance().admit(bytes);
  if (!ticket.held()) throw_queue_full(env, bytes);
  return ticket;
}

Napi::Promise start_async_call(Napi::Env env, QueueTicket ticket, WorkerJob job, int64_t output_elements,
                               const CallBuffers& buffers, bool input_private, bool out_private) {
  AsyncScheduler& scheduler = addon_state(env).scheduler;
  auto* worker = new ConvWorker(env, &scheduler, std::move(ticket), std::move(job), output_elements,
                                std::make_unique<AsyncInput>(buffers, input_private), buffers.out_array,
                                out_private);
  Napi::Promise promise = worker->promise();
  scheduler.submit(worker);
  return promise;
}

ConvWorker::ConvWorker(Napi::Env env, AsyncScheduler* scheduler, QueueTicket ticket, WorkerJob job,
                       int64_t output_elements, std::unique_ptr<AsyncInput> input, Napi::Float32Array output,
                       bool out_is_private)
    : Napi::AsyncWorker(env, "conv1x1"),
      scheduler_(scheduler),
      ticket_(std::move(ticket)),
      deferred_(Napi::Promise::Deferred::New(env)),
      job_(std::move(job)),
      output_elements_(output_elements),
      input_(std::move(input)),
      output_ref_(Napi::Persistent(output)),
      out_is_private_(out_is_private) {
  if (out_is_private_) {
    output_data_ = output.Data();
  } else {
    result_ = ScratchBuffer(static_cast<size_t>(output_elements_));
    output_data_ = result_.data();
  }
}

ConvWorker::~ConvWorker() { give_back_slot(); }  // work cancelled before it ran still held one

void ConvWorker::give_back_slot() {
  if (!holds_slot_) return;
  holds_slot_ = false;
  ComputeSlots::instance().release();
}

void ConvWorker::Execute() {
  try {
    job_(input_->data(), output_data_);
  } catch (const Error& error) {
    core_error_ = true;
    error_code_ = error.code();
    SetError(error.what());
  } catch (const std::bad_alloc&) {
    core_error_ = true;
    error_code_ = ErrorCode::OutOfMemory;
    SetError("out of memory while running the convolution");
  } catch (const std::exception& error) {
    core_error_ = true;
    error_code_ = ErrorCode::Internal;
    SetError(error.what());
  }
  give_back_slot();  // free for the next call before this one's result is delivered
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
  if (!out_is_private_) {
    // The caller's array may have been detached, transferred or resized while we ran.
    if (output.ArrayBuffer().IsDetached() ||
        static_cast<int64_t>(output.ElementLength()) != output_elements_) {
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

AsyncScheduler::AsyncScheduler(Napi::Env env) : env_(env) {
  wake_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                        "conv1x1 slot freed", 0, 1);
  wake_.Unref(env);
}

AsyncScheduler::~AsyncScheduler() {
  ComputeSlots::instance().remove_waiter(this);
  // The environment is going away: calls that never started are dropped with it.
  for (ConvWorker* worker : waiting_) delete worker;
  wake_.Release();
}

void AsyncScheduler::submit(ConvWorker* worker) {
  waiting_.push_back(worker);
  pump();
}

void AsyncScheduler::finished() { pump(); }

void AsyncScheduler::slot_freed() {
  wake_.NonBlockingCall([this](Napi::Env, Napi::Function) { pump(); });
}

void AsyncScheduler::pump() {
  if (waiting_.empty()) return;
  ComputeSlots& slots = ComputeSlots::instance();
  // Listen before trying, so that a slot freed between a failed try and listening is not missed.
  slots.add_waiter(this);
  while (!waiting_.empty() && slots.try_acquire()) {
    ConvWorker* worker = waiting_.front();
    worker->adopt_slot();
    try {
      worker->Queue();
    } catch (const Napi::Error&) {
      worker->give_back_slot();  // the environment is shutting down; the destructor frees the rest
      return;
    }
    waiting_.pop_front();
  }
  // While calls wait for a slot, the wake-up handle keeps the event loop alive: a pending promise
  // alone does not, and the thread (or process) would end with the call never run.
  if (waiting_.empty()) {
    slots.remove_waiter(this);
    wake_.Unref(env_);
  } else {
    wake_.Ref(env_);
  }
}

}  // namespace binding
}  // namespace conv1x1
