// Seeded dropout: the mask's statistics, its reproducibility across pools and
// its independence from the thread split, and a known answer computed by an
// independent implementation of the hash documented in Dropout.h (Python ints).
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "Dropout.h"
#include "ThreadPool.h"

namespace lathe::cpu {
namespace {

std::vector<float> runDropout(int threads, const DropoutMask& mask, int64_t n) {
  ThreadPool pool(threads);
  std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = 1.0f + static_cast<float>(i % 7);
  dropout(pool, mask, x.data(), y.data(), n);
  return y;
}

double keptFraction(const std::vector<float>& y) {
  int64_t kept = 0;
  for (float value : y) kept += value != 0.0f;
  return static_cast<double>(kept) / static_cast<double>(y.size());
}

TEST(Dropout, KeepsTheExpectedFractionAndScalesTheKeptValues) {
  const int64_t n = 1 << 20;
  for (float p : {0.1f, 0.5f, 0.9f}) {
    const DropoutMask mask{7, 3, 1, p};
    const std::vector<float> y = runDropout(2, mask, n);
    const double sigma = std::sqrt(p * (1.0 - p) / static_cast<double>(n));
    EXPECT_NEAR(keptFraction(y), 1.0 - p, 5 * sigma) << "p = " << p;
    const float scale = 1.0f / (1.0f - p);
    for (int64_t i = 0; i < 1000; ++i) {
      const float x = 1.0f + static_cast<float>(i % 7);
      EXPECT_EQ(y[static_cast<size_t>(i)], mask.keeps(static_cast<uint64_t>(i)) ? x * scale : 0.0f) << i;
    }
  }
}

TEST(Dropout, ZeroProbabilityIsTheIdentity) {
  const std::vector<float> y = runDropout(2, DropoutMask{1, 2, 3, 0.0f}, 4096);
  for (int64_t i = 0; i < 4096; ++i) EXPECT_EQ(y[static_cast<size_t>(i)], 1.0f + static_cast<float>(i % 7));
}

TEST(Dropout, TheMaskDependsOnlyOnSeedStepStreamAndIndex) {
  const int64_t n = 100003;
  const DropoutMask mask{42, 9, 5, 0.3f};
  EXPECT_EQ(runDropout(1, mask, n), runDropout(2, mask, n));
  EXPECT_EQ(runDropout(3, mask, n), runDropout(2, mask, n));
  // Changing any coordinate gives an unrelated mask: two independent masks agree
  // on a fraction p^2 + (1-p)^2 = 0.58 of the elements.
  const std::vector<float> base = runDropout(2, mask, n);
  const DropoutMask others[] = {{43, 9, 5, 0.3f}, {42, 10, 5, 0.3f}, {42, 9, 6, 0.3f}};
  for (const DropoutMask& other : others) {
    const std::vector<float> y = runDropout(2, other, n);
    int64_t agree = 0;
    for (int64_t i = 0; i < n; ++i) agree += (y[static_cast<size_t>(i)] != 0) == (base[static_cast<size_t>(i)] != 0);
    EXPECT_NEAR(static_cast<double>(agree) / n, 0.58, 0.01);
  }
}

TEST(Dropout, MatchesTheDocumentedHash) {
  // splitmix64 with Python integers: tests/e2e/test_train.py's dropout_mask for seed 1, step 2, stream 3, p 0.5.
  const std::string expected = "11001001001111101011010001111101";
  const DropoutMask mask{1, 2, 3, 0.5f};
  std::string bits;
  for (uint64_t i = 0; i < expected.size(); ++i) bits += mask.keeps(i) ? '1' : '0';
  EXPECT_EQ(bits, expected);
}

TEST(Dropout, RejectsBadArguments) {
  ThreadPool pool(1);
  float x = 1.0f, y = 0.0f;
  EXPECT_THROW(dropout(pool, DropoutMask{0, 0, 0, 1.0f}, &x, &y, 1), std::invalid_argument);
  EXPECT_THROW(dropout(pool, DropoutMask{0, 0, 0, -0.1f}, &x, &y, 1), std::invalid_argument);
  EXPECT_THROW(dropout(pool, DropoutMask{0, 0, 0, 0.5f}, &x, &y, -1), std::invalid_argument);
  EXPECT_THROW(dropout(pool, DropoutMask{0, 0, 0, 0.5f}, nullptr, &y, 1), std::invalid_argument);
}

}  // namespace
}  // namespace lathe::cpu
