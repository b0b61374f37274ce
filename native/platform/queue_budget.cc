#include "queue_budget.h"

#include <cstdlib>

namespace conv1x1 {
namespace {

// CONV1X1_MAX_QUEUED_CALLS / CONV1X1_MAX_QUEUED_BYTES: positive integers, else the default.
int64_t limit_from_environment(const char* name, int64_t fallback) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  return (*end == '\0' && value > 0) ? static_cast<int64_t>(value) : fallback;
}

}  // namespace

QueueTicket& QueueTicket::operator=(QueueTicket&& other) noexcept {
  if (this != &other) {
    release();
    bytes_ = other.bytes_;
    held_ = other.held_;
    other.held_ = false;
  }
  return *this;
}

void QueueTicket::release() {
  if (!held_) return;
  held_ = false;
  QueueBudget::instance().give_back(bytes_);
}

QueueBudget& QueueBudget::instance() {
  // Never destroyed: tickets of calls dropped at exit still give back to it.
  static QueueBudget* budget = new QueueBudget();
  return *budget;
}

QueueBudget::QueueBudget() {
  const QueueLimits defaults;
  max_calls_ = limit_from_environment("CONV1X1_MAX_QUEUED_CALLS", defaults.calls);
  max_bytes_ = limit_from_environment("CONV1X1_MAX_QUEUED_BYTES", defaults.bytes);
}

QueueTicket QueueBudget::admit(int64_t bytes) {
  QueueTicket ticket;
  // Reserve first, then check: two threads can never both take the last place.
  const int64_t calls = ++calls_;
  const int64_t total = (bytes_ += bytes);
  const bool alone = calls == 1;
  if (calls > max_calls_.load() || (total > max_bytes_.load() && !alone)) {
    --calls_;
    bytes_ -= bytes;
    return ticket;
  }
  ticket.bytes_ = bytes;
  ticket.held_ = true;
  return ticket;
}

bool QueueBudget::has_room(int64_t bytes) const {
  const int64_t calls = calls_.load();
  return calls < max_calls_.load() && (calls == 0 || bytes_.load() + bytes <= max_bytes_.load());
}

void QueueBudget::set_limits(const QueueLimits& limits) {
  max_calls_ = limits.calls;
  max_bytes_ = limits.bytes;
}

QueueLimits QueueBudget::limits() const {
  QueueLimits limits;
  limits.calls = max_calls_.load();
  limits.bytes = max_bytes_.load();
  return limits;
}

void QueueBudget::give_back(int64_t bytes) {
  --calls_;
  bytes_ -= bytes;
}

}  // namespace conv1x1
