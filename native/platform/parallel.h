#pragma once
// Runs fn(0) … fn(count-1) on up to `threads` threads (the caller's included) and returns when all
// are done. Threads are started per call: the calls that use more than one are long enough (see the
// builtin backend's threshold) that ~20 µs of thread start-up does not show.
#include <cstdint>
#include <functional>

namespace conv1x1 {

void parallel_for(int64_t count, int threads, const std::function<void(int64_t)>& fn);

}  // namespace conv1x1
