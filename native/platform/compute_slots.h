#pragma once
// The process-wide bound on concurrent compute: at most `slots` calls run at once, each with
// `threads_per_call` threads, and slots × threads_per_call never exceeds the cores. Shared by every
// Node environment (main thread and worker_threads) because the cores are.
#include <condition_variable>
#include <mutex>

namespace conv1x1 {

class ComputeSlots {
 public:
  static ComputeSlots& instance();

  // Blocks until a slot is free.
  void acquire();
  void release();
  // Waits until no call runs, then changes the per-call thread count and the number of slots.
  void reconfigure(int threads_per_call, int cores);
  int threads_per_call() const;
  int slots() const;
  int peak_in_use() const;
  void reset_peak();

 private:
  ComputeSlots();
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int slots_ = 1;
  int threads_per_call_ = 1;
  int in_use_ = 0;
  int peak_in_use_ = 0;
};

// RAII holder of one slot for the length of a call.
class ComputeSlot {
 public:
  ComputeSlot() { ComputeSlots::instance().acquire(); }
  ~ComputeSlot() { ComputeSlots::instance().release(); }
  ComputeSlot(const ComputeSlot&) = delete;
  ComputeSlot& operator=(const ComputeSlot&) = delete;
};

}  // namespace conv1x1
