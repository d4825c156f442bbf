// A fixed pool of worker threads for the CPU kernels. Work is handed out in
// items claimed from a shared counter, and the caller's thread claims items
// too, so a worker the OS has descheduled never stalls a call it has not
// joined.
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
  /// Calls fn(begin, end) on disjoint contiguous chunks covering [0, n) (a few
  /// per thread, on any thread); returns when all are done.
  void parallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn);
  /// Calls fn(index) once for every index in [0, size()), each on some pool
  /// thread (possibly several indices on one); returns when all are done.
  void runOnAll(const std::function<void(int)>& fn);

private:
  struct Impl;
  Impl* impl_;
};

}  // namespace lathe::cpu
