#pragma once
// Per-environment state (main thread and each worker_thread have their own), held as instance data.
#include <napi.h>

#include "conv_worker.h"

namespace conv1x1 {
namespace binding {

struct AddonState {
  explicit AddonState(Napi::Env env) : scheduler(env) {}
  AsyncScheduler scheduler;
  Napi::FunctionReference prepared_conv_constructor;
  Napi::FunctionReference prepared_depthwise_constructor;
};

AddonState& addon_state(Napi::Env env);

}  // namespace binding
}  // namespace conv1x1
