// KeptBuffers, behind both the async calls' scratch pool and the strided layers' per-thread scratch:
// it hands back the smallest buffer large enough, and keeps no more buffers or bytes than its bounds,
// dropping the smallest first.
#include <memory>
#include <string>

#include "../core/kept_buffers.h"
#include "check.h"
#include "suites.h"

namespace conv1x1 {
namespace test {
namespace {

// A buffer of `floats` whose first float names it, to tell buffers apart when they come back.
std::unique_ptr<float[]> tagged(size_t floats, float tag) {
  std::unique_ptr<float[]> buffer(new float[floats]);
  buffer[0] = tag;
  return buffer;
}

void test_take_smallest_fit() {
  KeptBuffers kept(4, 1 << 20);
  size_t capacity = 0;
  check(kept.take(1, &capacity) == nullptr, "KeptBuffers: nothing to take from an empty list");
  kept.give_back(tagged(100, 1), 100);
  kept.give_back(tagged(300, 3), 300);
  kept.give_back(tagged(200, 2), 200);
  std::unique_ptr<float[]> got = kept.take(150, &capacity);
  check(got && got[0] == 2 && capacity == 200, "KeptBuffers: 150 floats take the 200-float buffer, the smallest that fits");
  check(kept.take(301, &capacity) == nullptr, "KeptBuffers: nothing kept holds 301 floats");
  got = kept.take(200, &capacity);
  check(got && got[0] == 3 && capacity == 300, "KeptBuffers: a buffer taken is no longer kept");
}

void test_bounds() {
  size_t capacity = 0;
  {
    KeptBuffers kept(2, 1 << 20);
    kept.give_back(tagged(10, 1), 10);
    kept.give_back(tagged(30, 3), 30);
    kept.give_back(tagged(20, 2), 20);  // a third buffer: the smallest kept one goes
    std::unique_ptr<float[]> got = kept.take(1, &capacity);
    check(got && got[0] == 2 && capacity == 20, "KeptBuffers: at most 2 buffers, the 10-float one dropped");
  }
  {
    KeptBuffers kept(4, 100 * sizeof(float));
    kept.give_back(tagged(101, 1), 101);  // alone over the byte bound: freed, not kept
    check(kept.take(1, &capacity) == nullptr, "KeptBuffers: a buffer over the byte bound is not kept");
    kept.give_back(tagged(40, 4), 40);
    kept.give_back(tagged(30, 3), 30);
    kept.give_back(tagged(50, 5), 50);  // 120 floats would be over 100: the 30-float one goes
    std::unique_ptr<float[]> got = kept.take(1, &capacity);
    check(got && got[0] == 4 && capacity == 40, "KeptBuffers: bytes kept stay within the bound, smallest dropped");
    got = kept.take(1, &capacity);
    check(got && got[0] == 5 && capacity == 50, "KeptBuffers: the newest buffer is kept");
    check(kept.take(1, &capacity) == nullptr, "KeptBuffers: the dropped buffer is gone");
  }
}

}  // namespace

void run_kept_buffers_tests() {
  test_take_smallest_fit();
  test_bounds();
}

}  // namespace test
}  // namespace conv1x1
