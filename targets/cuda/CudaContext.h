// One CUDA GPU: its primary context, the stream every operation of the device
// runs on, the device memory pool and the pinned staging memory for copies.
// Shared (shared_ptr) by the device, its buffers and prepared entries, so it
// is destroyed last.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "CudaApi.h"

namespace lathe::runtime::cu {

/// A range of one cuMemAlloc block.
struct Allocation {
  struct Block* block = nullptr;
  CUdeviceptr address = 0;
  size_t size = 0;
};

/// Sub-allocates big cuMemAlloc blocks (first fit, 256-byte aligned ranges,
/// coalesced on release), so buffers cost no driver call after warm-up.
class MemoryPool {
public:
  explicit MemoryPool(const Api& api);
  ~MemoryPool();
  /// Throws Error(LATHE_ERROR_OUT_OF_MEMORY) when the GPU has no room.
  Allocation allocate(size_t bytes);
  void release(const Allocation& allocation);

private:
  Allocation allocateIn(Block& block, size_t size);
  void freeEmptyBlocks();

  const Api& api_;
  std::vector<std::unique_ptr<Block>> blocks_;
};

/// Makes the context current on this thread for a scope (restoring the
/// caller's). Never throws, so destructors may use it: if the push fails, the
/// driver calls that follow fail and say so.
class ScopedContext {
public:
  ScopedContext(const Api& api, CUcontext context);
  ~ScopedContext();
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;

private:
  const Api& api_;
  bool pushed_;
};

class Context {
public:
  /// The GPU with ordinal `index`, named `spec` ("cuda:1") in errors: throws
  /// LATHE_ERROR_UNSUPPORTED "no CUDA driver ..." / "no CUDA GPU ...", or
  /// LATHE_ERROR_INVALID_ARGUMENT "cuda:3 out of range (...)".
  Context(int64_t index, const std::string& spec);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const Api& api() const { return *api_; }
  CUcontext context() const { return context_; }
  CUstream stream() const { return stream_; }
  std::string name() const { return name_; }
  /// "sm_90": the architecture of the cubins the GPU runs.
  std::string arch() const { return arch_; }
  const std::array<uint64_t, 3>& maxGrid() const { return max_grid_; }
  int maxSharedBytesPerBlock() const { return max_shared_optin_; }
  MemoryPool& memory() { return *memory_; }
  ScopedContext makeCurrent() const { return ScopedContext(*api_, context_); }

  /// Copies host memory to device memory through pinned staging, ordered on
  /// the stream; returns once `src` may be reused.
  void upload(CUdeviceptr dst, const void* src, size_t bytes);
  /// Copies device memory to host memory after the stream's earlier work.
  void download(CUdeviceptr src, void* dst, size_t bytes);
  /// Waits for the stream; throws "cuda: <what>: ..." on an asynchronous error.
  void synchronize(const std::string& what);

private:
  void selectDevice(int64_t index, const std::string& spec);
  void destroy();

  std::unique_ptr<Api> api_;
  CUdevice device_ = 0;
  CUcontext context_ = nullptr;
  CUstream stream_ = nullptr;
  std::string name_;
  std::string arch_;
  std::array<uint64_t, 3> max_grid_{};
  int max_shared_optin_ = 0;
  std::unique_ptr<MemoryPool> memory_;
  // Two pinned slots, so one fills while the other copies.
  std::array<void*, 2> staging_{};
  std::array<CUevent, 2> staging_done_{};
};

}  // namespace lathe::runtime::cu
