#include "layer_chain.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "../core/epilogue.h"
#include "../core/error.h"

namespace conv1x1 {
namespace binding {
namespace {

// Arena slots start on 64-byte boundaries, as the kernels' packed panels do.
constexpr int64_t kSlotAlignFloats = 16;
constexpr int64_t kMaxBufferElements = int64_t{1} << 46;
constexpr size_t kMaxBuffers = size_t{1} << 16;

int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

Error shape_error(size_t step, const std::string& what) {
  return Error(ErrorCode::ShapeMismatch, "layer chain step " + std::to_string(step) + ": " + what);
}

void mean_pool(const float* input, float* output, int64_t planes, int64_t pixels) {
  for (int64_t plane = 0; plane < planes; ++plane) {
    // Summed in double: a float running sum over thousands of pixels loses digits.
    double sum = 0;
    const float* values = input + plane * pixels;
    for (int64_t i = 0; i < pixels; ++i) sum += values[i];
    output[plane] = static_cast<float>(sum / static_cast<double>(pixels));  // NaN for no pixels
  }
}

void add_input(const float* skip, float* output, int64_t elements, Activation activation,
               float negative_slope) {
  if (activation == Activation::None) {
    for (int64_t i = 0; i < elements; ++i) output[i] += skip[i];
  } else {
    for (int64_t i = 0; i < elements; ++i) output[i] = activate(output[i] + skip[i], activation, negative_slope);
  }
}

}  // namespace

LayerChain::LayerChain(std::vector<ChainStep> steps, std::vector<int64_t> buffer_elements)
    : steps_(std::move(steps)), buffer_elements_(std::move(buffer_elements)) {
  if (buffer_elements_.size() < 2) {
    throw Error(ErrorCode::OutOfRange, "a layer chain needs at least an input and an output buffer");
  }
  for (int64_t elements : buffer_elements_) {
    if (elements < 0) throw Error(ErrorCode::OutOfRange, "a layer chain buffer has a negative size");
    // Far above any array JS can make; keeps the arena's sums from overflowing.
    if (elements > kMaxBufferElements) throw Error(ErrorCode::TooLarge, "a layer chain buffer is too large");
  }
  if (buffer_elements_.size() > kMaxBuffers) throw Error(ErrorCode::TooLarge, "a layer chain has too many buffers");
  std::vector<bool> written(buffer_elements_.size(), false);
  written.front() = true;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const ChainStep& step = steps_[i];
    check_step(step, i);
    if (!written[step.input]) throw shape_error(i, "reads a buffer that no earlier step wrote");
    const bool in_place = step.op == ChainStep::Op::AddInput;
    if (in_place != written[step.output]) {
      throw shape_error(i, in_place ? "adds into a buffer that no earlier step wrote"
                                    : "writes the input or a buffer an earlier step wrote");
    }
    written[step.output] = true;
  }
  if (!written.back()) throw shape_error(steps_.size(), "the chain never writes its output");
  lay_out_arena();
}

void LayerChain::check_step(const ChainStep& step, size_t index) const {
  const int buffers = static_cast<int>(buffer_elements_.size());
  if (step.input < 0 || step.input >= buffers || step.output <= 0 || step.output >= buffers) {
    throw Error(ErrorCode::OutOfRange, "layer chain step " + std::to_string(index) + " names a buffer out of range");
  }
  if (step.input == step.output) throw shape_error(index, "reads and writes the same buffer");
  const int64_t in = buffer_elements_[step.input], out = buffer_elements_[step.output];
  switch (step.op) {
    case ChainStep::Op::Conv:
      if (!step.conv_weights) throw shape_error(index, "has no weights");
      if (step.conv_plan.input_elements != in || step.conv_plan.output_elements != out) {
        throw shape_error(index, "the convolution's sizes differ from its buffers'");
      }
      break;
    case ChainStep::Op::Depthwise:
      if (!step.depthwise_weights) throw shape_error(index, "has no weights");
      if (step.depthwise_plan.input_elements != in || step.depthwise_plan.output_elements != out) {
        throw shape_error(index, "the depthwise convolution's sizes differ from its buffers'");
      }
      break;
    case ChainStep::Op::AddInput:
    case ChainStep::Op::Copy:
      if (step.elements != in || step.elements != out) throw shape_error(index, "its buffers differ in size");
      break;
    case ChainStep::Op::MeanPool:
      if (step.planes < 0 || step.pixels < 0 || step.planes != out ||
          (step.pixels > 0 && in / step.pixels != step.planes) || in != step.planes * step.pixels) {
        throw shape_error(index, "the pooled sizes differ from its buffers'");
      }
      break;
  }
}

// Each intermediate is live from the step that writes it to the last step that reads it; one that
// is dead by the time another is written lends it its space. First fit over the slots in order.
void LayerChain::lay_out_arena() {
  const size_t count = buffer_elements_.size();
  const int none = -1;
  std::vector<int> first_write(count, none), last_use(count, none);
  for (size_t i = 0; i < steps_.size(); ++i) {
    const int at = static_cast<int>(i);
    if (first_write[steps_[i].output] == none) first_write[steps_[i].output] = at;
    last_use[steps_[i].input] = at;
    last_use[steps_[i].output] = at;
  }
  struct Slot {
    int64_t elements = 0;
    int busy_until = -1;  // the last step that uses the slot's current buffer
  };
  std::vector<Slot> slots;
  std::vector<size_t> slot_of(count, 0);
  for (size_t b = 1; b + 1 < count; ++b) {
    if (first_write[b] == none) continue;  // never used: needs no space
    const int64_t need = round_up(buffer_elements_[b], kSlotAlignFloats);
    auto free_slot = [&](bool large_enough) {
      for (size_t s = 0; s < slots.size(); ++s) {
        if (slots[s].busy_until < first_write[b] && (!large_enough || slots[s].elements >= need)) return s;
      }
      return slots.size();
    };
    size_t chosen = free_slot(true);
    if (chosen == slots.size()) chosen = free_slot(false);  // grown to fit
    if (chosen == slots.size()) slots.push_back(Slot{});
    slots[chosen].elements = std::max(slots[chosen].elements, need);
    slots[chosen].busy_until = last_use[b];
    slot_of[b] = chosen;
  }
  std::vector<int64_t> slot_offset(slots.size(), 0);
  arena_elements_ = 0;
  for (size_t s = 0; s < slots.size(); ++s) {
    slot_offset[s] = arena_elements_;
    arena_elements_ += slots[s].elements;
  }
  arena_offset_.assign(count, 0);
  for (size_t b = 1; b + 1 < count; ++b) arena_offset_[b] = slot_offset[slot_of[b]];
}

bool LayerChain::runs_convolutions() const {
  return std::any_of(steps_.begin(), steps_.end(), [](const ChainStep& step) { return step.op == ChainStep::Op::Conv; });
}

void LayerChain::run(const float* input, float* output, float* arena) const {
  const size_t last = buffer_elements_.size() - 1;
  auto writable = [&](int b) { return static_cast<size_t>(b) == last ? output : arena + arena_offset_[b]; };
  auto readable = [&](int b) -> const float* { return b == 0 ? input : writable(b); };
  for (const ChainStep& step : steps_) {
    const float* in = readable(step.input);
    float* out = writable(step.output);
    switch (step.op) {
      case ChainStep::Op::Conv: {
        CallWeights weights;
        weights.prepared = step.conv_weights.get();
        run_holding_slot(step.conv_plan, in, weights, out);
        break;
      }
      case ChainStep::Op::Depthwise:
        run_depthwise_holding_slot(step.depthwise_plan, *step.depthwise_weights, in, out);
        break;
      case ChainStep::Op::AddInput:
        add_input(in, out, step.elements, step.activation, step.negative_slope);
        break;
      case ChainStep::Op::MeanPool:
        mean_pool(in, out, step.planes, step.pixels);
        break;
      case ChainStep::Op::Copy:
        if (step.elements > 0) std::memcpy(out, in, static_cast<size_t>(step.elements) * sizeof(float));
        break;
    }
  }
}

}  // namespace binding
}  // namespace conv1x1
