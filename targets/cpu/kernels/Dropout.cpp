#include "Dropout.h"

#include <cmath>
#include <string>

#include "ArgumentChecks.h"
#include "ThreadPool.h"

namespace lathe::cpu {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Elements whose 24-bit draw is below this are dropped: a fraction p of them.
uint64_t dropThreshold(float p) { return static_cast<uint64_t>(std::ceil(static_cast<double>(p) * 16777216.0)); }

uint64_t streamKey(const DropoutMask& mask) {
  return splitmix64(splitmix64((uint64_t{mask.seed} << 32) | mask.step) ^ mask.stream);
}

}  // namespace

bool DropoutMask::keeps(uint64_t index) const {
  return (splitmix64(streamKey(*this) + index) >> 40) >= dropThreshold(p);
}

void dropout(ThreadPool& pool, const DropoutMask& mask, const float* x, float* y, int64_t n) {
  detail::requireNonNegative("dropout", "n", n);
  if (!(mask.p >= 0.0f && mask.p < 1.0f)) detail::fail("dropout", "p must be in [0, 1), got " + std::to_string(mask.p));
  if (n == 0) return;
  detail::requirePointer("dropout", "x", x);
  detail::requirePointer("dropout", "y", y);
  const uint64_t key = streamKey(mask), threshold = dropThreshold(mask.p);
  const float scale = 1.0f / (1.0f - mask.p);
  pool.parallelFor(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const bool keep = (splitmix64(key + static_cast<uint64_t>(i)) >> 40) >= threshold;
      y[i] = keep ? x[i] * scale : 0.0f;
    }
  });
}

}  // namespace lathe::cpu
