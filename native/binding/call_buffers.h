#pragma once
// What every call checks before it runs: input, output and their sizes against the plan, and that
// the output shares no memory with what is read.
#include <napi.h>

#include "../core/plan.h"
#include "js_args.h"
#include "scratch_pool.h"

namespace conv1x1 {
namespace binding {

struct CallBuffers {
  FloatView input;
  FloatView out;  // empty when the call allocates its output
  Napi::Float32Array out_array;
};

// Reads input (info[input_index]) and out (info[out_index]); checks lengths and overlap with the
// extra views given (weights, bias) when they are JS memory.
CallBuffers read_call_buffers(const Napi::CallbackInfo& info, size_t input_index, size_t out_index,
                              const ConvPlan& plan, const FloatView& weight, const FloatView& bias);

// A private copy of the input for an async call: the caller may detach or reuse its array meanwhile.
ScratchBuffer snapshot_input(const CallBuffers& buffers);

// out, or a new Float32Array of the plan's output size.
Napi::Float32Array output_array(Napi::Env env, const CallBuffers& buffers, const ConvPlan& plan);

}  // namespace binding
}  // namespace conv1x1
