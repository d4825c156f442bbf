#include "CudaContext.h"

#include <algorithm>
#include <cstring>

#include "Error.h"
#include "FreeRanges.h"

namespace lathe::runtime::cu {

constexpr size_t kBlockBytes = 64ull << 20;
constexpr size_t kAlignment = 256;
constexpr size_t kStagingBytes = 8ull << 20;  // per slot

struct Block {
  Block(CUdeviceptr base, size_t size) : base(base), size(size), free(size) {}
  CUdeviceptr base;
  size_t size;
  FreeRanges free;
};

namespace {

size_t roundUp(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }

}  // namespace

MemoryPool::MemoryPool(const Api& api) : api_(api) {}

MemoryPool::~MemoryPool() {
  for (const auto& block : blocks_) api_.cuMemFree(block->base);
}

Allocation MemoryPool::allocate(size_t bytes) {
  const size_t size = roundUp(std::max<size_t>(bytes, 1), kAlignment);
  for (const auto& block : blocks_) {
    Allocation allocation = allocateIn(*block, size);
    if (allocation.block != nullptr) return allocation;
  }
  size_t block_size = std::max(size, kBlockBytes);
  CUdeviceptr base = 0;
  CUresult result = api_.cuMemAlloc(&base, block_size);
  if (result == CUDA_ERROR_OUT_OF_MEMORY) {
    freeEmptyBlocks();
    block_size = size;  // no spare room: exactly what is asked
    result = api_.cuMemAlloc(&base, block_size);
  }
  if (result == CUDA_ERROR_OUT_OF_MEMORY) {
    throw Error(LATHE_ERROR_OUT_OF_MEMORY,
                "cuda: cannot allocate " + std::to_string(bytes) + " bytes of device memory: the GPU is full");
  }
  check(api_, result, "allocating " + std::to_string(block_size) + " bytes of device memory");
  blocks_.push_back(std::make_unique<Block>(base, block_size));
  return allocateIn(*blocks_.back(), size);
}

Allocation MemoryPool::allocateIn(Block& block, size_t size) {
  const std::optional<uint64_t> offset = block.free.take(size);
  if (!offset) return {};
  return {&block, block.base + *offset, size};
}

void MemoryPool::release(const Allocation& allocation) {
  allocation.block->free.give(allocation.address - allocation.block->base, allocation.size);
}

void MemoryPool::freeEmptyBlocks() {
  auto empty = std::stable_partition(blocks_.begin(), blocks_.end(), [](const auto& block) { return !block->free.empty(); });
  for (auto it = empty; it != blocks_.end(); ++it) api_.cuMemFree((*it)->base);
  blocks_.erase(empty, blocks_.end());
}

ScopedContext::ScopedContext(const Api& api, CUcontext context)
    : api_(api), pushed_(api_.cuCtxPushCurrent(context) == CUDA_SUCCESS) {}

ScopedContext::~ScopedContext() {
  CUcontext popped = nullptr;
  if (pushed_) api_.cuCtxPopCurrent(&popped);
}

Context::Context(int64_t index, const std::string& spec) : api_(std::make_unique<Api>()) {
  selectDevice(index, spec);
  try {
    check(*api_, api_->cuDevicePrimaryCtxRetain(&context_, device_), "retaining the primary context of " + name_);
    ScopedContext current(*api_, context_);
    check(*api_, api_->cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING), "creating a stream");
    memory_ = std::make_unique<MemoryPool>(*api_);
    for (size_t slot = 0; slot < staging_.size(); ++slot) {
      check(*api_, api_->cuMemAllocHost(&staging_[slot], kStagingBytes), "allocating pinned staging memory");
      check(*api_, api_->cuEventCreate(&staging_done_[slot], CU_EVENT_DEFAULT), "creating an event");
    }
  } catch (...) {
    destroy();
    throw;
  }
}

Context::~Context() { destroy(); }

void Context::destroy() {
  if (context_ == nullptr) return;
  {
    ScopedContext current(*api_, context_);
    if (stream_ != nullptr) api_->cuStreamSynchronize(stream_);
    for (CUevent event : staging_done_) {
      if (event != nullptr) api_->cuEventDestroy(event);
    }
    for (void* slot : staging_) {
      if (slot != nullptr) api_->cuMemFreeHost(slot);
    }
    memory_.reset();
    if (stream_ != nullptr) api_->cuStreamDestroy(stream_);
  }
  api_->cuDevicePrimaryCtxRelease(device_);
  context_ = nullptr;
}

void Context::selectDevice(int64_t index, const std::string& spec) {
  const CUresult init = api_->cuInit(0);
  if (init != CUDA_SUCCESS) {
    throw Error(LATHE_ERROR_UNSUPPORTED, "no CUDA GPU (cuInit: " + resultText(*api_, init) + ")");
  }
  int count = 0;
  check(*api_, api_->cuDeviceGetCount(&count), "counting devices");
  if (count == 0) throw Error(LATHE_ERROR_UNSUPPORTED, "no CUDA GPU (the driver reports 0 devices)");
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) {
    CUdevice device = 0;
    char name[256] = {};
    check(*api_, api_->cuDeviceGet(&device, i), "getting device " + std::to_string(i));
    check(*api_, api_->cuDeviceGetName(name, sizeof name - 1, device), "naming device " + std::to_string(i));
    names.push_back(name);
  }
  if (index < 0 || index >= count) {
    std::string known;
    for (int i = 0; i < count; ++i) known += (i ? ", " : "") + std::to_string(i) + " '" + names[i] + "'";
    throw Error(LATHE_ERROR_INVALID_ARGUMENT, spec + " out of range (" + std::to_string(count) + " CUDA device" +
                                                  (count == 1 ? "" : "s") + ": " + known + ")");
  }
  check(*api_, api_->cuDeviceGet(&device_, static_cast<int>(index)), "getting " + spec);
  name_ = names[index];
  const auto attribute = [&](int which) {
    int value = 0;
    check(*api_, api_->cuDeviceGetAttribute(&value, which, device_), "reading an attribute of " + name_);
    return value;
  };
  arch_ = "sm_" + std::to_string(attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)) +
          std::to_string(attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR));
  for (int axis = 0; axis < 3; ++axis) {
    max_grid_[axis] = static_cast<uint64_t>(attribute(CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X + axis));
  }
  max_shared_optin_ = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
}

void Context::upload(CUdeviceptr dst, const void* src, size_t bytes) {
  for (size_t done = 0, chunk = 0; done < bytes; done += kStagingBytes, ++chunk) {
    const size_t slot = chunk % staging_.size();
    const size_t size = std::min(kStagingBytes, bytes - done);
    // The slot's previous copy must have read it before it is refilled.
    check(*api_, api_->cuEventSynchronize(staging_done_[slot]), "waiting for an upload");
    std::memcpy(staging_[slot], static_cast<const char*>(src) + done, size);
    check(*api_, api_->cuMemcpyHtoDAsync(dst + done, staging_[slot], size, stream_),
          "uploading " + std::to_string(bytes) + " bytes");
    check(*api_, api_->cuEventRecord(staging_done_[slot], stream_), "recording an event");
  }
}

void Context::download(CUdeviceptr src, void* dst, size_t bytes) {
  const size_t chunks = (bytes + kStagingBytes - 1) / kStagingBytes;
  const auto copyOut = [&](size_t chunk) {
    const size_t slot = chunk % staging_.size();
    check(*api_, api_->cuEventSynchronize(staging_done_[slot]), "downloading " + std::to_string(bytes) + " bytes");
    std::memcpy(static_cast<char*>(dst) + chunk * kStagingBytes, staging_[slot],
                std::min(kStagingBytes, bytes - chunk * kStagingBytes));
  };
  for (size_t chunk = 0; chunk < chunks; ++chunk) {
    const size_t slot = chunk % staging_.size();
    const size_t size = std::min(kStagingBytes, bytes - chunk * kStagingBytes);
    check(*api_, api_->cuMemcpyDtoHAsync(staging_[slot], src + chunk * kStagingBytes, size, stream_),
          "downloading " + std::to_string(bytes) + " bytes");
    check(*api_, api_->cuEventRecord(staging_done_[slot], stream_), "recording an event");
    if (chunk > 0) copyOut(chunk - 1);  // overlaps this chunk's copy
  }
  if (chunks > 0) copyOut(chunks - 1);
}

void Context::synchronize(const std::string& what) { check(*api_, api_->cuStreamSynchronize(stream_), what); }

}  // namespace lathe::runtime::cu
