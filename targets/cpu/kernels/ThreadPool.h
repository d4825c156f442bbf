// A fixed pool of worker threads for the CPU kernels. parallelFor splits a
// range into contiguous chunks, one per thread; the caller's thread works too.
#pragma once

#include <cstdint>
#include <functional>

namespace lathe::cpu {

class ThreadPool {
public:
  explicit ThreadPool(int num_threads = 0);  // 0: hardware concurrency
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const;
  /// Calls fn(begin, end) on disjoint chunks covering [0, n); returns when all are done.
  void parallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn);
  /// Calls fn(thread_index) once on every thread; returns when all are done.
  void runOnAll(const std::function<void(int)>& fn);

private:
  struct Impl;
  Impl* impl_;
};

}  // namespace lathe::cpu
