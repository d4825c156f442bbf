#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "ThreadPool.h"

namespace lathe::cpu {
namespace {

TEST(ThreadPool, ParallelForCoversRangeOnceInContiguousChunks) {
  ThreadPool pool(3);
  for (int64_t n : {1, 2, 3, 7, 1000}) {
    std::vector<std::atomic<int>> hits(n);
    std::atomic<int> chunks{0};
    pool.parallelFor(n, [&](int64_t begin, int64_t end) {
      EXPECT_LT(begin, end);
      chunks++;
      for (int64_t i = begin; i < end; ++i) hits[i]++;
    });
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
    EXPECT_GE(chunks.load(), 1);
    EXPECT_LE(chunks.load(), n);
  }
}

TEST(ThreadPool, RunOnAllCallsEveryThreadIndexOnce) {
  ThreadPool pool(4);
  EXPECT_EQ(pool.size(), 4);
  std::vector<std::atomic<int>> seen(4);
  for (int repeat = 0; repeat < 100; ++repeat) pool.runOnAll([&](int t) { seen[t]++; });
  for (auto& s : seen) EXPECT_EQ(s.load(), 100);
}

TEST(ThreadPool, NestedCallsRunInline) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  pool.parallelFor(4, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      pool.parallelFor(10, [&](int64_t b, int64_t e) { total += e - b; });
  });
  EXPECT_EQ(total.load(), 40);
}

TEST(ThreadPool, ExceptionsReachTheCaller) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.runOnAll([](int t) {
    if (t == 1) throw std::runtime_error("worker failed");
  }),
               std::runtime_error);
  // The pool stays usable.
  std::atomic<int> count{0};
  pool.runOnAll([&](int) { count++; });
  EXPECT_EQ(count.load(), 2);
}

TEST(ThreadPool, ZeroThreadsReadsEnvironment) {
  setenv("LATHE_NUM_THREADS", "3", 1);
  ThreadPool from_env(0);
  EXPECT_EQ(from_env.size(), 3);
  unsetenv("LATHE_NUM_THREADS");
  ThreadPool hardware(0);
  EXPECT_GE(hardware.size(), 1);
}

}  // namespace
}  // namespace lathe::cpu
