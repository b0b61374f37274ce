#include "compute_slots.h"

#include <algorithm>

namespace conv1x1 {

ComputeSlots& ComputeSlots::instance() {
  static ComputeSlots* slots = new ComputeSlots();  // never destroyed: outlives every environment
  return *slots;
}

void ComputeSlots::take_locked() {
  ++in_use_;
  if (in_use_ > peak_in_use_) peak_in_use_ = in_use_;
}

void ComputeSlots::acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return in_use_ < slots_; });
  take_locked();
}

bool ComputeSlots::try_acquire() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (in_use_ >= slots_) return false;
  take_locked();
  return true;
}

void ComputeSlots::release() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --in_use_;
  }
  changed_.notify_all();
  std::lock_guard<std::mutex> lock(waiters_mutex_);
  for (SlotWaiter* waiter : waiters_) waiter->slot_freed();
}

void ComputeSlots::add_waiter(SlotWaiter* waiter) {
  std::lock_guard<std::mutex> lock(waiters_mutex_);
  if (std::find(waiters_.begin(), waiters_.end(), waiter) == waiters_.end()) waiters_.push_back(waiter);
}

void ComputeSlots::remove_waiter(SlotWaiter* waiter) {
  std::lock_guard<std::mutex> lock(waiters_mutex_);
  waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), waiter), waiters_.end());
}

void ComputeSlots::reconfigure(int threads_per_call, int cores) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return in_use_ == 0; });
    threads_per_call_ = threads_per_call < 1 ? 1 : threads_per_call;
    slots_ = cores / threads_per_call_;
    if (slots_ < 1) slots_ = 1;
  }
  changed_.notify_all();
  // More slots may now be free for the environments whose calls wait.
  std::lock_guard<std::mutex> lock(waiters_mutex_);
  for (SlotWaiter* waiter : waiters_) waiter->slot_freed();
}

int ComputeSlots::threads_per_call() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return threads_per_call_;
}

int ComputeSlots::slots() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return slots_;
}

int ComputeSlots::peak_in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return peak_in_use_;
}

void ComputeSlots::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  peak_in_use_ = in_use_;
}

}  // namespace conv1x1
