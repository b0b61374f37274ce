#include "parallel.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#if defined(__linux__)
#include <sched.h>
#elif defined(_WIN32)
#include "windows_api.h"
#endif
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace conv1x1 {
namespace {

// A spinning thread tells the core it is waiting (x86 PAUSE, arm YIELD): cheaper than a yield
// system call, and the sibling hyper-thread gets the core's resources meanwhile.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
  _mm_pause();
#elif defined(__aarch64__) && !defined(_MSC_VER)
  __asm__ __volatile__("yield");
#else
  std::this_thread::yield();
#endif
}

// One parallel_for in progress: its indices are claimed one at a time by whoever gets there first.
struct Job {
  const std::function<void(int64_t)>* fn = nullptr;
  int64_t count = 0;
  std::atomic<int64_t> next{0};
  std::mutex mutex;
  std::condition_variable finished;
  std::atomic<int64_t> done{0};  // changed under mutex, read without it while the caller spins
  std::exception_ptr failure;

  // Claims and runs indices until none is left.
  void work() {
    for (int64_t i = next++; i < count; i = next++) {
      std::exception_ptr thrown;
      try {
        (*fn)(i);
      } catch (...) {
        thrown = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex);
      if (thrown && !failure) failure = thrown;
      if (++done == count) finished.notify_all();
    }
  }
};

class ThreadPool {
 public:
  static ThreadPool& instance() {
    // Never destroyed: its threads sleep until the process exits.
    static ThreadPool* pool = new ThreadPool();
    return *pool;
  }

  // Asks up to `helpers` pool threads to join the job.
  void offer(const std::shared_ptr<Job>& job, int64_t helpers) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      start_workers_locked();
      for (int64_t i = 0; i < helpers; ++i) offers_.push_back(job);
      pending_offers_ = offers_.size();
    }
    if (helpers == 1) {
      wake_.notify_one();
    } else {
      wake_.notify_all();
    }
  }

 private:
  void start_workers_locked() {
    if (started_) return;
    started_ = true;
    const int cores = available_cores();
    const int workers = cores > 1 ? cores - 1 : 1;
    for (int i = 0; i < workers; ++i) {
      try {
        std::thread(&ThreadPool::run_worker, this).detach();
      } catch (...) {
        break;  // fewer helpers: callers do the rest of their own work
      }
    }
  }

  void run_worker() {
    for (;;) {
      spin_for_offer();
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return !offers_.empty(); });
        job = std::move(offers_.front());
        offers_.pop_front();
        pending_offers_ = offers_.size();
      }
      job->work();  // a job that is already finished has no index left: this returns at once
    }
  }

  // Waking a sleeping thread takes tens of microseconds on a VM, as long as a small tile's work. A
  // helper that just finished therefore watches for the next offer for a short while (~50 µs, far
  // below OpenBLAS's ~0.1 s of spinning) before it sleeps; back-to-back calls then start at once.
  void spin_for_offer() {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
    while (pending_offers_.load(std::memory_order_relaxed) == 0) {
      if (std::chrono::steady_clock::now() > until) return;
      cpu_relax();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> offers_;
  std::atomic<size_t> pending_offers_{0};  // offers_.size(), readable without the lock
  bool started_ = false;
};

}  // namespace

void parallel_for(int64_t count, int threads, const std::function<void(int64_t)>& fn) {
  if (count <= 0) return;
  if (threads <= 1 || count == 1) {
    for (int64_t i = 0; i < count; ++i) fn(i);
    return;
  }
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->count = count;
  const int64_t helpers = (threads - 1 < count - 1) ? threads - 1 : count - 1;
  try {
    ThreadPool::instance().offer(job, helpers);
  } catch (...) {
    // No helper could be asked (out of memory): the caller does all the work. Helpers that were
    // asked before the failure still join in, and we wait for them below before fn goes away.
  }
  job->work();
  // The helpers' last pieces usually end within microseconds of the caller's; sleeping on the
  // condition variable would add a wake-up (tens of microseconds on a VM) to every call.
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
  while (job->done.load(std::memory_order_acquire) != job->count &&
         std::chrono::steady_clock::now() < until) {
    cpu_relax();
  }
  std::unique_lock<std::mutex> lock(job->mutex);
  job->finished.wait(lock, [&] { return job->done.load() == job->count; });
  if (job->failure) std::rethrow_exception(job->failure);
}

int available_cores() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int count = CPU_COUNT(&set);
    if (count > 0) return count;
  }
#elif defined(_WIN32)
  // A process started with an affinity (start /affinity, a job object) gets fewer cores than the
  // machine has. An unrestricted mask is not counted: it covers one processor group only, and
  // hardware_concurrency may know of more.
  DWORD_PTR process_mask = 0, system_mask = 0;
  if (GetProcessAffinityMask(GetCurrentProcess(), &process_mask, &system_mask) && process_mask != 0 &&
      process_mask != system_mask) {
    int count = 0;
    for (DWORD_PTR mask = process_mask; mask != 0; mask &= mask - 1) ++count;
    return count;
  }
#endif
  unsigned count = std::thread::hardware_concurrency();
  return count > 0 ? static_cast<int>(count) : 1;
}

}  // namespace conv1x1
