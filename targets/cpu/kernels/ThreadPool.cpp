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
constexpr int kSpinIterations = 2000;

// parallelFor hands out this many chunks per thread, so a thread the OS has
// descheduled (a busy machine) holds back one small chunk, not a whole share.
constexpr int64_t kChunksPerThread = 4;

// A claim is (job epoch << 32 | item index): a worker that wakes late can tell
// whether its claim belongs to the job that is still running.
constexpr int kIndexBits = 32;
constexpr uint64_t kNoJob = ~uint64_t{0};

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

// Jobs are `count` independent items. Every thread, the caller included,
// claims items from one atomic counter until none are left, so the caller
// never waits for a worker that has not started: it runs the unclaimed items
// itself and waits only for items already being run elsewhere.
struct ThreadPool::Impl {
  using Item = std::function<void(int64_t)>;

  int num_threads = 1;
  std::vector<std::thread> workers;

  std::mutex call_mutex;  // one job at a time
  std::mutex wake_mutex;
  std::condition_variable wake_cv;
  std::atomic<uint64_t> generation{0};  // bumped per job to wake workers
  std::atomic<bool> stopping{false};

  // The running job, published in this order: job_epoch = kNoJob, item and
  // count, done = 0, job_epoch = epoch, next = epoch << kIndexBits.
  uint64_t epoch = 0;  // owned by the caller under call_mutex
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> job_epoch{kNoJob};
  std::atomic<const Item*> job_item{nullptr};
  std::atomic<int64_t> job_count{0};
  std::atomic<int64_t> done{0};

  std::mutex error_mutex;
  std::exception_ptr error;

  // Runs items of the current job until none is left to claim.
  void work() {
    for (;;) {
      const uint64_t claim = next.fetch_add(1);
      const uint64_t claim_epoch = claim >> kIndexBits;
      const int64_t index = static_cast<int64_t>(claim & ((uint64_t{1} << kIndexBits) - 1));
      if (job_epoch.load() != claim_epoch) return;  // the job this claim belongs to is over
      const Item* item = job_item.load();
      const int64_t count = job_count.load();
      if (job_epoch.load() != claim_epoch || index >= count) return;
      try {
        (*item)(index);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
      done.fetch_add(1);
    }
  }

  void workerLoop() {
    t_in_parallel_region = true;
    uint64_t seen = 0;
    for (;;) {
      seen = waitForNewGeneration(seen);
      if (seen == 0) return;  // stopping
      work();
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

  void run(int64_t count, const Item& item) {
    std::lock_guard<std::mutex> call_lock(call_mutex);
    error = nullptr;
    epoch = (epoch + 1) & ((uint64_t{1} << (64 - kIndexBits)) - 1);
    job_epoch.store(kNoJob);
    job_item.store(&item);
    job_count.store(count);
    done.store(0);
    job_epoch.store(epoch);
    next.store(epoch << kIndexBits);
    {
      std::lock_guard<std::mutex> lock(wake_mutex);
      generation.fetch_add(1, std::memory_order_acq_rel);
    }
    wake_cv.notify_all();
    t_in_parallel_region = true;
    work();
    t_in_parallel_region = false;
    for (int i = 0; done.load() != count; ++i) {
      if (i < kSpinIterations) cpuRelax();
      else std::this_thread::yield();
    }
    job_epoch.store(kNoJob);
    if (error) std::rethrow_exception(error);
  }
};

ThreadPool::ThreadPool(int num_threads) : impl_(new Impl) {
  impl_->num_threads = std::max(1, num_threads > 0 ? num_threads : threadCountFromEnvironment());
  impl_->workers.reserve(impl_->num_threads - 1);
  for (int i = 1; i < impl_->num_threads; ++i) impl_->workers.emplace_back([this] { impl_->workerLoop(); });
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
    // Inline: a nested call (or a single-thread pool) plays every index itself.
    for (int i = 0; i < impl_->num_threads; ++i) fn(i);
    return;
  }
  impl_->run(impl_->num_threads, [&fn](int64_t index) { fn(static_cast<int>(index)); });
}

void ThreadPool::parallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (impl_->num_threads == 1 || n == 1 || t_in_parallel_region) {
    fn(0, n);
    return;
  }
  const int64_t chunks = std::min<int64_t>(n, impl_->num_threads * kChunksPerThread);
  const int64_t base = n / chunks, extra = n % chunks;
  auto chunkBegin = [&](int64_t c) { return c * base + std::min(c, extra); };
  impl_->run(chunks, [&](int64_t c) { fn(chunkBegin(c), chunkBegin(c + 1)); });
}

}  // namespace lathe::cpu
