#pragma once
// Async convolution: an AsyncWorker whose Execute touches only memory the job owns, settled as a
// promise. A worker takes its compute slot before it is handed to libuv's pool, so a libuv thread
// never sits waiting for a slot: calls beyond the slots wait in their environment's queue, and a
// freed slot, in any environment, wakes the queues that wait.
#include <napi.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>

#include "../core/error.h"
#include "../platform/compute_slots.h"
#include "../platform/queue_budget.h"
#include "call_buffers.h"
#include "scratch_pool.h"

namespace conv1x1 {
namespace binding {

class AsyncScheduler;

// What one async call computes, run on a libuv thread while the call holds a compute slot: a
// convolution from `input` (the snapshot) into `output` (output_elements floats). It owns or shares
// everything else it reads (the plan, the weights), so it is safe to run after JS has moved on.
using WorkerJob = std::function<void(const float* input, float* output)>;

// Admits one more async call (its input snapshot and result, in floats) under the process-wide
// bound, or throws ERR_QUEUE_FULL (a Conv1x1Error in the facade) that says how full the queue is and what to do.
QueueTicket admit_async_call(Napi::Env env, int64_t input_floats, int64_t output_floats);
// The ERR_QUEUE_FULL error for a call of `bytes` that the queue has no room for.
[[noreturn]] void throw_queue_full(Napi::Env env, int64_t bytes);

// Starts an admitted async call: its input read from `buffers` (snapshotted unless input_private), its
// result written to `buffers`' out (see ConvWorker), queued for a compute slot. Returns its promise.
Napi::Promise start_async_call(Napi::Env env, QueueTicket ticket, WorkerJob job, int64_t output_elements,
                               const CallBuffers& buffers, bool input_private, bool out_private);

class ConvWorker : public Napi::AsyncWorker {
 public:
  // input: what the worker reads (a snapshot, or an array private to the call; see AsyncInput).
  // output: written in place when out_is_private (an array nobody else sees until the promise
  // settles); otherwise the caller's `out`, written on completion from a private result buffer, if
  // it is still attached and the same size.
  ConvWorker(Napi::Env env, AsyncScheduler* scheduler, QueueTicket ticket, WorkerJob job,
             int64_t output_elements, std::unique_ptr<AsyncInput> input, Napi::Float32Array output,
             bool out_is_private);
  ~ConvWorker() override;

  Napi::Promise promise() { return deferred_.Promise(); }
  // Called by the scheduler once it has taken a slot for this worker, just before Queue().
  void adopt_slot() { holds_slot_ = true; }
  void give_back_slot();

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  void settle_ok();

  AsyncScheduler* scheduler_;
  QueueTicket ticket_;  // held until this worker is destroyed: its buffers count until then
  Napi::Promise::Deferred deferred_;
  WorkerJob job_;
  int64_t output_elements_;
  std::unique_ptr<AsyncInput> input_;
  Napi::Reference<Napi::Float32Array> output_ref_;
  bool out_is_private_;
  float* output_data_ = nullptr;
  ScratchBuffer result_;
  bool holds_slot_ = false;
  ErrorCode error_code_ = ErrorCode::Internal;
  bool core_error_ = false;
};

class AsyncScheduler : public SlotWaiter {
 public:
  explicit AsyncScheduler(Napi::Env env);
  ~AsyncScheduler() override;
  void submit(ConvWorker* worker);
  void finished();
  // Any thread: a slot was freed somewhere; pump this environment's queue on its JS thread.
  void slot_freed() override;

 private:
  void pump();
  Napi::Env env_;
  std::deque<ConvWorker*> waiting_;
  Napi::ThreadSafeFunction wake_;
};

}  // namespace binding
}  // namespace conv1x1
