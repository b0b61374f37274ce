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
  Napi::Float32Array input_array;
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

// A boolean flag argument (info[index] === true). Async calls take two: whether `out` and whether the
// input are private to the call, i.e. arrays that the facade allocated (a new output, Sequential's
// intermediates) and that nobody else uses until the promise settles. Only the facade sets them.
bool read_flag(const Napi::CallbackInfo& info, size_t index);

// The input an async call reads on its worker thread: a snapshot (the caller may detach or reuse its
// array meanwhile), or, when the input is private to the call, the array itself, kept referenced.
class AsyncInput {
 public:
  AsyncInput(const CallBuffers& buffers, bool input_is_private);
  const float* data() const { return borrowed_ ? borrowed_ : snapshot_.data(); }

 private:
  ScratchBuffer snapshot_;
  Napi::Reference<Napi::Float32Array> keep_alive_;
  const float* borrowed_ = nullptr;
};

}  // namespace binding
}  // namespace conv1x1
