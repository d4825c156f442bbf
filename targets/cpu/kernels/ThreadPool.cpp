#include "ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lathe::cpu {
namespace {

// True while a thread runs part of a parallel region (workers always; the
// calling thread during its share) so nested calls run inline, not deadlock.
thread_local bool t_in_parallel_region = false;

// Spin iterations before a waiting thread blocks; a kernel call is usually
// followed by the next one within microseconds.
constexpr int kSpinIterations = 20000;

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

int threadCountFromEnvironment() {
  if (const char* env = std::getenv("LATHE_NUM_THREADS")) {
    char* end = nullptr;
    long value = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && value > 0 && value <= 1024) return static_cast<int>(value);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

}  // namespace

struct ThreadPool::Impl {
  int num_threads = 1;
  std::vector<std::thread> workers;

  std::mutex call_mutex;  // one parallel region at a time
  std::mutex wake_mutex;
  std::condition_variable wake_cv;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> pending{0};
  std::atomic<bool> stopping{false};

  const std::function<void(int)>* job = nullptr;
  std::mutex error_mutex;
  std::exception_ptr error;

  void runJob(int thread_index) {
    try {
      (*job)(thread_index);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  }

  void workerLoop(int thread_index) {
    t_in_parallel_region = true;
    uint64_t seen = 0;
    for (;;) {
      uint64_t current = waitForNewGeneration(seen);
      if (current == 0) return;  // stopping
      seen = current;
      runJob(thread_index);
      pending.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  // Returns the new generation, or 0 when the pool is stopping.
  uint64_t waitForNewGeneration(uint64_t seen) {
    for (int i = 0; i < kSpinIterations; ++i) {
      uint64_t g = generation.load(std::memory_order_acquire);
      if (g != seen) return stopping.load(std::memory_order_acquire) ? 0 : g;
      cpuRelax();
    }
    std::unique_lock<std::mutex> lock(wake_mutex);
    wake_cv.wait(lock, [&] { return stopping.load() || generation.load(std::memory_order_acquire) != seen; });
    return stopping.load(std::memory_order_acquire) ? 0 : generation.load(std::memory_order_acquire);
  }

  void runOnAll(const std::function<void(int)>& fn) {
    std::lock_guard<std::mutex> call_lock(call_mutex);
    job = &fn;
    error = nullptr;
    pending.store(num_threads - 1, std::memory_order_release);
    {
      std::lock_guard<std::mutex> lock(wake_mutex);
      generation.fetch_add(1, std::memory_order_acq_rel);
    }
    wake_cv.notify_all();
    t_in_parallel_region = true;
    runJob(0);
    t_in_parallel_region = false;
    for (int i = 0; pending.load(std::memory_order_acquire) != 0; ++i) {
      if (i < kSpinIterations) cpuRelax();
      else std::this_thread::yield();
    }
    job = nullptr;
    if (error) std::rethrow_exception(error);
  }
};

ThreadPool::ThreadPool(int num_threads) : impl_(new Impl) {
  impl_->num_threads = std::max(1, num_threads > 0 ? num_threads : threadCountFromEnvironment());
  impl_->workers.reserve(impl_->num_threads - 1);
  for (int i = 1; i < impl_->num_threads; ++i) impl_->workers.emplace_back([this, i] { impl_->workerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(impl_->wake_mutex);
    impl_->stopping = true;
    impl_->generation.fetch_add(1, std::memory_order_acq_rel);
  }
  impl_->wake_cv.notify_all();
  for (auto& worker : impl_->workers) worker.join();
  delete impl_;
}

int ThreadPool::size() const { return impl_->num_threads; }

void ThreadPool::runOnAll(const std::function<void(int)>& fn) {
  if (impl_->num_threads == 1 || t_in_parallel_region) {
    // Inline: a nested call (or a single-thread pool) plays every thread index itself.
    for (int i = 0; i < impl_->num_threads; ++i) fn(i);
    return;
  }
  impl_->runOnAll(fn);
}

void ThreadPool::parallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  int64_t chunks = std::min<int64_t>(n, impl_->num_threads);
  if (chunks == 1 || t_in_parallel_region) {
    fn(0, n);
    return;
  }
  int64_t base = n / chunks, extra = n % chunks;
  auto chunkBegin = [&](int64_t c) { return c * base + std::min(c, extra); };
  impl_->runOnAll([&](int thread_index) {
    if (thread_index < chunks) fn(chunkBegin(thread_index), chunkBegin(thread_index + 1));
  });
}

}  // namespace lathe::cpu
