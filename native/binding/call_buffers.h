#pragma once
// What every call checks before it runs: input and output sizes against the plan, and that the
// output shares no memory with what is read. The output is always given: the facade allocates new
// ones in JS, where a failed allocation is a catchable RangeError (V8's native allocation aborts).
#include <napi.h>

#include "../core/plan.h"
#include "js_args.h"
#include "scratch_pool.h"

namespace conv1x1 {
namespace binding {

struct CallBuffers {
  FloatView input;
  FloatView out;
  Napi::Float32Array out_array;
};

// Reads input (info[input_index]) and out (info[out_index]); checks lengths and overlap with the
// other operands given (weights and bias, when they are JS memory).
CallBuffers read_call_buffers(const Napi::CallbackInfo& info, size_t input_index, size_t out_index,
                              const ConvPlan& plan, const FloatView& weight, const FloatView& bias);
// The same for any operation, given the element counts its plan derived.
CallBuffers read_call_buffers(const Napi::CallbackInfo& info, size_t input_index, size_t out_index,
                              int64_t input_elements, int64_t output_elements,
                              const FloatView& weight, const FloatView& bias);

// The bias argument: null/undefined for none, else a Float32Array of out_channels elements.
FloatView read_bias(const Napi::Value& value, int64_t out_channels);

// Whether an async call's `out` is private to the call (info[index] === true): an array the facade
// allocated for it and shows nobody until the promise settles, so the worker may write it in place.
bool read_out_is_private(const Napi::CallbackInfo& info, size_t index);

// A private copy of the input for an async call: the caller may detach or reuse its array meanwhile.
ScratchBuffer snapshot_input(const CallBuffers& buffers);

}  // namespace binding
}  // namespace conv1x1
