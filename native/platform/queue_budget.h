#pragma once
// The bound on async calls in flight, process-wide (every Node environment, worker_threads included):
// at most `calls` calls and `bytes` bytes of their private buffers (input snapshots, results) at
// once. A call over the bound is refused before it allocates anything; each admitted call holds a
// ticket until it is destroyed (settled, or dropped with its environment), so nothing leaks.
#include <atomic>
#include <cstdint>

namespace conv1x1 {

struct QueueLimits {
  int64_t calls = 1024;
  int64_t bytes = int64_t{1} << 30;  // 1 GiB
};

class QueueBudget;

class QueueTicket {
 public:
  QueueTicket() = default;
  QueueTicket(QueueTicket&& other) noexcept : bytes_(other.bytes_), held_(other.held_) { other.held_ = false; }
  QueueTicket& operator=(QueueTicket&& other) noexcept;
  QueueTicket(const QueueTicket&) = delete;
  QueueTicket& operator=(const QueueTicket&) = delete;
  ~QueueTicket() { release(); }
  bool held() const { return held_; }
  void release();

 private:
  friend class QueueBudget;
  int64_t bytes_ = 0;
  bool held_ = false;
};

class QueueBudget {
 public:
  static QueueBudget& instance();

  // Admits a call of `bytes`, or returns a ticket that is not held (over the bound). A single call
  // larger than the byte bound is admitted when nothing else is in flight, so that it can run at all.
  QueueTicket admit(int64_t bytes);
  bool has_room(int64_t bytes) const;
  void set_limits(const QueueLimits& limits);
  QueueLimits limits() const;
  int64_t calls() const { return calls_.load(); }
  int64_t bytes() const { return bytes_.load(); }

 private:
  friend class QueueTicket;
  QueueBudget();
  void give_back(int64_t bytes);

  std::atomic<int64_t> calls_{0}, bytes_{0};
  std::atomic<int64_t> max_calls_, max_bytes_;
};

}  // namespace conv1x1
