// Seeded inverted dropout for training. The mask is a pure function of
// (seed, step, stream, element index): a counter-based hash (SplitMix64's
// finalizer), so any thread can compute any element, nothing is stored, and
// the backward recomputes the forward's mask by running the same kernel on dy.
#pragma once

#include <cstdint>

namespace lathe::cpu {

class ThreadPool;

/// Which mask: rng = [seed, step] from the entry point's `rng` input; stream
/// tells the dropout sites of one step apart; p is the drop probability in [0, 1).
struct DropoutMask {
  uint32_t seed = 0;
  uint32_t step = 0;
  uint64_t stream = 0;
  float p = 0.0f;

  /// True iff element `index` is kept: the top 24 bits of
  /// splitmix64(splitmix64(splitmix64(seed << 32 | step) ^ stream) + index)
  /// are >= ceil(p * 2^24).
  bool keeps(uint64_t index) const;
};

/// y[i] = keeps(i) ? x[i] / (1 - p) : 0 for i in [0, n); y may be x.
void dropout(ThreadPool& pool, const DropoutMask& mask, const float* x, float* y, int64_t n);

}  // namespace lathe::cpu
