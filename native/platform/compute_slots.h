#pragma once
// The process-wide bound on concurrent compute: at most `slots` calls run at once, each with
// `threads_per_call` threads, and slots × threads_per_call never exceeds the cores. Shared by every
// Node environment (main thread and worker_threads) because the cores are.
#include <condition_variable>
#include <mutex>
#include <vector>

namespace conv1x1 {

// Told when a slot frees up; called on whichever thread released it, so it must only signal.
class SlotWaiter {
 public:
  virtual ~SlotWaiter() = default;
  virtual void slot_freed() = 0;
};

class ComputeSlots {
 public:
  static ComputeSlots& instance();

  // Blocks until a slot is free.
  void acquire();
  // Takes a free slot if there is one, without waiting.
  bool try_acquire();
  void release();
  // Waiters are told of every release until removed; remove_waiter returns only once no call to
  // that waiter is in progress, so the waiter may then be destroyed.
  void add_waiter(SlotWaiter* waiter);
  void remove_waiter(SlotWaiter* waiter);
  // Waits until no call runs, then changes the per-call thread count and the number of slots.
  void reconfigure(int threads_per_call, int cores);
  int threads_per_call() const;
  int slots() const;
  int peak_in_use() const;
  void reset_peak();

 private:
  ComputeSlots() = default;
  void take_locked();

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int slots_ = 1;
  int threads_per_call_ = 1;
  int in_use_ = 0;
  int peak_in_use_ = 0;
  std::mutex waiters_mutex_;  // held while waiters are told, so that removal waits for that
  std::vector<SlotWaiter*> waiters_;
};

// RAII holder of one slot for the length of a sync call.
class ComputeSlot {
 public:
  ComputeSlot() { ComputeSlots::instance().acquire(); }
  ~ComputeSlot() { ComputeSlots::instance().release(); }
  ComputeSlot(const ComputeSlot&) = delete;
  ComputeSlot& operator=(const ComputeSlot&) = delete;
};

}  // namespace conv1x1
