// Module entry: per-environment state, and the functions the TypeScript facade calls
// (lib/binding.ts declares their types).
#include <napi.h>

#include "../gemm/backend_registry.h"
#include "../platform/compute_slots.h"
#include "../platform/queue_budget.h"
#include "addon_state.h"
#include "conv_calls.h"
#include "js_args.h"
#include "js_errors.h"
#include "prepared_chain.h"
#include "prepared_conv.h"
#include "prepared_depthwise.h"

namespace conv1x1 {
namespace binding {

AddonState& addon_state(Napi::Env env) { return *env.GetInstanceData<AddonState>(); }

namespace {

Napi::Value backend_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    BackendInfo backend = BackendRegistry::instance().info();
    Napi::Object result = Napi::Object::New(env);
    result.Set("name", backend.name);
    result.Set("path", backend.path.empty() ? env.Null() : Napi::String::New(env, backend.path));
    result.Set("version", backend.version.empty() ? env.Null() : Napi::String::New(env, backend.version));
    result.Set("simd", backend.simd);
    result.Set("kernels", backend.kernels);
    result.Set("kernelsNote", backend.kernels_note.empty() ? env.Null() : Napi::String::New(env, backend.kernels_note));
    result.Set("selection", backend.selection);
    QueueBudget& budget = QueueBudget::instance();
    const QueueLimits limits = budget.limits();
    Napi::Object queue = Napi::Object::New(env);
    queue.Set("calls", static_cast<double>(budget.calls()));
    queue.Set("bytes", static_cast<double>(budget.bytes()));
    queue.Set("maxCalls", static_cast<double>(limits.calls));
    queue.Set("maxBytes", static_cast<double>(limits.bytes));
    result.Set("queue", queue);
    result.Set("engineNote", backend.engine_note.empty() ? env.Null() : Napi::String::New(env, backend.engine_note));
    result.Set("threads", backend.threads);
    result.Set("maxConcurrentCalls", backend.max_concurrent_calls);
    result.Set("cores", backend.cores);
    result.Set("note", backend.blas_note.empty() ? env.Null() : Napi::String::New(env, backend.blas_note));
    Napi::Array available = Napi::Array::New(env, backend.available.size());
    for (size_t i = 0; i < backend.available.size(); ++i) available.Set(i, backend.available[i]);
    result.Set("available", available);
    return result;
  });
}

Napi::Value set_threads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsNumber()) {
      throw_type_error(env, "ERR_INVALID_ARG_TYPE", "threads must be a number");
    }
    const double threads = info[0].As<Napi::Number>().DoubleValue();
    BackendRegistry::instance().active();  // a backend that failed to load throws here too
    const int cores = BackendRegistry::instance().cores();
    if (!(threads >= 1 && threads <= cores) || threads != static_cast<int>(threads)) {
      throw_range_error(env, "ERR_OUT_OF_RANGE",
                        "threads must be an integer from 1 to " + std::to_string(cores));
    }
    BackendRegistry::instance().set_threads(static_cast<int>(threads));
    return env.Undefined();
  });
}

// checkQueueRoom(bytes): throws ERR_QUEUE_FULL, as the call itself would be refused, when an async
// call of that many bytes would not be admitted now (the facade asks before it allocates the call's
// output; the call itself is admitted or refused natively).
Napi::Value check_queue_room(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    const int64_t bytes = read_size_value(info[0], "bytes", 0);
    if (!QueueBudget::instance().has_room(bytes)) throw_queue_full(env, bytes);
    return env.Undefined();
  });
}

// setQueueLimits(calls, bytes): positive integers, or 0 to keep that limit (checked by the facade).
Napi::Value set_queue_limits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    QueueLimits limits = QueueBudget::instance().limits();
    const int64_t calls = read_size_value(info[0], "calls", 0);
    const int64_t bytes = read_size_value(info[1], "bytes", 0);
    if (calls > 0) limits.calls = calls;
    if (bytes > 0) limits.bytes = bytes;
    QueueBudget::instance().set_limits(limits);
    return env.Undefined();
  });
}

// For tests: run every case on every backend in one process.
Napi::Value select_backend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) {
      throw_type_error(env, "ERR_INVALID_ARG_TYPE", "backend kind must be a string");
    }
    return Napi::Boolean::New(env, BackendRegistry::instance().select(info[0].As<Napi::String>()));
  });
}

// For tests of the threading model: the most calls that ever ran at once, process-wide.
Napi::Value compute_stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ComputeSlots& slots = ComputeSlots::instance();
  Napi::Object result = Napi::Object::New(env);
  result.Set("peakConcurrentCalls", slots.peak_in_use());
  result.Set("slots", slots.slots());
  result.Set("threadsPerCall", slots.threads_per_call());
  if (info.Length() > 0 && info[0].ToBoolean()) slots.reset_peak();
  return result;
}

}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* state = new AddonState(env);
  env.SetInstanceData<AddonState>(state);
  state->prepared_conv_constructor = Napi::Persistent(PreparedConv::define(env));
  exports.Set("PreparedConv", state->prepared_conv_constructor.Value());
  state->prepared_depthwise_constructor = Napi::Persistent(PreparedDepthwise::define(env));
  exports.Set("PreparedDepthwise", state->prepared_depthwise_constructor.Value());
  exports.Set("PreparedChain", PreparedChain::define(env));
  exports.Set("conv", Napi::Function::New(env, conv_sync, "conv"));
  exports.Set("convAsync", Napi::Function::New(env, conv_async, "convAsync"));
  exports.Set("backendInfo", Napi::Function::New(env, backend_info, "backendInfo"));
  exports.Set("setThreads", Napi::Function::New(env, set_threads, "setThreads"));
  exports.Set("selectBackend", Napi::Function::New(env, select_backend, "selectBackend"));
  exports.Set("checkQueueRoom", Napi::Function::New(env, check_queue_room, "checkQueueRoom"));
  exports.Set("setQueueLimits", Napi::Function::New(env, set_queue_limits, "setQueueLimits"));
  exports.Set("computeStats", Napi::Function::New(env, compute_stats, "computeStats"));
  return exports;
}

}  // namespace binding
}  // namespace conv1x1

static Napi::Object init_addon(Napi::Env env, Napi::Object exports) {
  return conv1x1::binding::init(env, exports);
}

NODE_API_MODULE(conv1x1, init_addon)
