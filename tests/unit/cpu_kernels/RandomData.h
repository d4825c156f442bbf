// Seeded random inputs for the CPU kernel tests, benchmarks and PyTorch dumps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace lathe::cpu {

/// `n` floats uniform in [lo, hi), the same for the same seed.
inline std::vector<float> randomVector(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace lathe::cpu
