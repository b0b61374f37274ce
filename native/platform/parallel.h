#pragma once
// Runs fn(0) … fn(count-1) on up to `threads` threads, the caller's included, and returns when all are
// done (rethrowing the first exception any of them threw). Helpers come from one process-wide pool
// of sleeping threads (cores − 1 of them, started on first use): nothing spins between calls, so an
// idle addon takes no CPU from the rest of the process. The caller also works through the indices,
// so a call completes even when every helper is busy with another call.
#include <cstdint>
#include <functional>

namespace conv1x1 {

void parallel_for(int64_t count, int threads, const std::function<void(int64_t)>& fn);

// The cores this process may run on (its CPU affinity on Linux and Windows), at least 1.
int available_cores();

}  // namespace conv1x1
