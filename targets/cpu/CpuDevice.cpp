#include "CpuDevice.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#include "Error.h"
#include "KernelLayout.h"
#include "kernels/Kernels.h"
#include "kernels/ThreadPool.h"

namespace lathe::runtime {
namespace {

constexpr size_t kAlignment = 64;

class CpuBuffer final : public Buffer {
public:
  /// Owned, 64-byte aligned, uninitialized.
  explicit CpuBuffer(size_t bytes) : Buffer(bytes), owned_(true) {
    const size_t rounded = (bytes / kAlignment + 1) * kAlignment;  // never 0, a multiple of the alignment
    data_ = std::aligned_alloc(kAlignment, rounded);
    if (data_ == nullptr) {
      throw Error(LATHE_ERROR_OUT_OF_MEMORY, "cannot allocate " + std::to_string(bytes) + " bytes on the cpu");
    }
  }
  /// Borrowed host memory that outlives the buffer.
  CpuBuffer(const void* data, size_t bytes) : Buffer(bytes), data_(const_cast<void*>(data)), owned_(false) {}
  ~CpuBuffer() override {
    if (owned_) std::free(data_);
  }
  void* data() const { return data_; }

private:
  void* data_;
  bool owned_;
};

void* dataOf(const Buffer* buffer) { return static_cast<const CpuBuffer*>(buffer)->data(); }

// A dispatch copied out of the FlatBuffer so runs touch plain vectors only.
struct CpuDispatch {
  fb::KernelKind kind;
  std::vector<fb::BufferRef> operands;
  std::vector<fb::Dim> dims;
  std::vector<int64_t> ints;
  std::vector<float> floats;
};

struct CpuPreparedEntry final : PreparedEntry {
  std::vector<CpuDispatch> dispatches;
};

template <typename T>
std::vector<T> copyVector(const flatbuffers::Vector<T>* values) {
  if (values == nullptr) return {};
  return {values->begin(), values->end()};
}

template <typename T>
std::vector<T> copyStructs(const flatbuffers::Vector<const T*>* values) {
  std::vector<T> copy;
  if (values == nullptr) return copy;
  for (const T* value : *values) copy.push_back(*value);
  return copy;
}

class CpuDevice final : public Device {
public:
  explicit CpuDevice(int num_threads) : pool_(num_threads) {}

  std::string kind() const override { return "cpu"; }

  std::unique_ptr<Buffer> allocate(size_t bytes) override { return std::make_unique<CpuBuffer>(bytes); }

  // Weights are used in place when aligned for floats (always, for a mapped
  // artifact whose writer aligned the weight data).
  std::unique_ptr<Buffer> importConstant(const void* data, size_t bytes) override {
    if (reinterpret_cast<uintptr_t>(data) % alignof(float) == 0) return std::make_unique<CpuBuffer>(data, bytes);
    return Device::importConstant(data, bytes);
  }

  void upload(Buffer& dst, const void* src, size_t bytes) override {
    if (bytes > 0) std::memcpy(dataOf(&dst), src, bytes);
  }
  void download(const Buffer& src, void* dst, size_t bytes) override {
    if (bytes > 0) std::memcpy(dst, dataOf(&src), bytes);
  }
  void zero(Buffer& buffer) override {
    if (buffer.bytes() > 0) std::memset(dataOf(&buffer), 0, buffer.bytes());
  }

  std::unique_ptr<PreparedEntry> prepare(const fb::EntryPoint& entry) override {
    auto prepared = std::make_unique<CpuPreparedEntry>();
    for (const fb::Dispatch* dispatch : *entry.dispatches()) {
      prepared->dispatches.push_back({dispatch->kind(), copyStructs(dispatch->buffers()),
                                      copyStructs(dispatch->dims()), copyVector(dispatch->int_params()),
                                      copyVector(dispatch->float_params())});
    }
    return prepared;
  }

  void run(const PreparedEntry& entry, const Bindings& bindings, int64_t B, int64_t T) override {
    for (const CpuDispatch& dispatch : static_cast<const CpuPreparedEntry&>(entry).dispatches) {
      std::vector<int64_t> dims;
      for (const fb::Dim& dim : dispatch.dims) dims.push_back(evaluateVerifiedDim(dim, B, T));
      std::vector<float*> operands;
      for (const fb::BufferRef& ref : dispatch.operands) operands.push_back(resolve(ref, bindings));
      execute(dispatch, dims, operands);
    }
  }

private:
  static float* resolve(const fb::BufferRef& ref, const Bindings& bindings) {
    switch (ref.space()) {
      case fb::BufferSpace::Arena: return reinterpret_cast<float*>(static_cast<char*>(dataOf(bindings.arena)) + ref.index());
      case fb::BufferSpace::Weight: return static_cast<float*>(dataOf(bindings.weights[ref.index()]));
      case fb::BufferSpace::Input: return static_cast<float*>(dataOf(bindings.inputs[ref.index()]));
      case fb::BufferSpace::Output: return static_cast<float*>(dataOf(bindings.outputs[ref.index()]));
      case fb::BufferSpace::State: return static_cast<float*>(dataOf(bindings.states[ref.index()]));
    }
    throw Error(LATHE_ERROR_INTERNAL, "unknown buffer space in a verified artifact");
  }

  // Operand order, dims and params follow runtime/src/KernelLayout.cpp.
  void execute(const CpuDispatch& d, const std::vector<int64_t>& dims, const std::vector<float*>& ops) {
    switch (d.kind) {
      case fb::KernelKind::Embedding:
        return cpu::embedding(pool_, reinterpret_cast<const int32_t*>(ops[0]), ops[1], ops[2], dims[0], dims[1]);
      case fb::KernelKind::AddPositions:
        if (d.ints[0] == 0) return cpu::addLearnedPositions(pool_, ops[0], ops[1], dims[0], dims[1], dims[2], 0);
        return cpu::addSinusoidalPositions(pool_, ops[0], dims[0], dims[1], dims[2], 0);
      case fb::KernelKind::LayerNorm: {
        const bool has_bias = d.ints[0] == 1;
        return cpu::layerNorm(pool_, ops[0], ops[1], has_bias ? ops[2] : nullptr, ops[has_bias ? 3 : 2], dims[0],
                              dims[1], d.floats[0]);
      }
      case fb::KernelKind::RMSNorm:
        return cpu::rmsNorm(pool_, ops[0], ops[1], ops[2], dims[0], dims[1], d.floats[0]);
      case fb::KernelKind::Gemm: return gemm(d, dims, ops);
      case fb::KernelKind::Rope:
        return cpu::rope(pool_, ops[0], dims[0], dims[1], dims[2], dims[3], d.floats[0], 0);
      case fb::KernelKind::Attention: return attention(d, dims, ops);
      case fb::KernelKind::Unary:
        return cpu::unary(pool_, static_cast<cpu::Act>(d.ints[0]), ops[0], ops[1], dims[0]);
      case fb::KernelKind::Binary:
        return cpu::binary(pool_, static_cast<cpu::Binary>(d.ints[0]), ops[0], ops[1], ops[2], dims[0]);
      case fb::KernelKind::SwiGLU: return cpu::swiglu(pool_, ops[0], ops[1], ops[2], dims[0]);
      case fb::KernelKind::KVCacheWrite:
        return cpu::kvCacheWrite(pool_, ops[0], ops[1], d.ints[0] == 1 ? ids(ops[2]) : nullptr, dims[0], dims[1],
                                 dims[2], dims[3], dims[5]);
      case fb::KernelKind::CachedAttention: return cachedAttention(d, dims, ops);
      case fb::KernelKind::GatherLast: {
        const bool has_lengths = d.ints[0] == 1;
        return cpu::gatherLast(pool_, ops[0], has_lengths ? ids(ops[1]) : nullptr, ops[has_lengths ? 2 : 1],
                               dims[0], dims[1], dims[2]);
      }
      case fb::KernelKind::RopeAt: {
        // Per sequence, since each starts at its own position.
        const int32_t* offsets = ids(ops[1]);
        const int64_t sequence = dims[1] * dims[2] * dims[3];
        for (int64_t b = 0; b < dims[0]; ++b)
          cpu::rope(pool_, ops[0] + b * sequence, 1, dims[1], dims[2], dims[3], d.floats[0], offsets[b]);
        return;
      }
      case fb::KernelKind::AddPositionsAt: {
        const int32_t* offsets = ids(ops[1]);
        const int64_t sequence = dims[1] * dims[2];
        for (int64_t b = 0; b < dims[0]; ++b) {
          float* x = ops[0] + b * sequence;
          if (d.ints[0] == 0) cpu::addLearnedPositions(pool_, x, ops[2], 1, dims[1], dims[2], offsets[b]);
          else cpu::addSinusoidalPositions(pool_, x, 1, dims[1], dims[2], offsets[b]);
        }
        return;
      }
    }
    throw Error(LATHE_ERROR_INTERNAL, "unknown kernel kind in a verified artifact");
  }

  void gemm(const CpuDispatch& d, const std::vector<int64_t>& dims, const std::vector<float*>& ops) {
    cpu::GemmArgs args;
    args.M = dims[0];
    args.N = dims[1];
    args.K = dims[2];
    args.trans_b = d.ints[0] == 1;
    args.act = static_cast<cpu::Act>(d.ints[1]);
    args.A = ops[0];
    args.lda = args.K;
    args.B = ops[1];
    args.ldb = args.trans_b ? args.K : args.N;
    args.C = ops[2];
    args.ldc = args.N;
    size_t next = 3;
    if (d.ints[2] == 1) args.bias = ops[next++];
    if (d.ints[3] == 1) {
      args.residual = ops[next];
      args.ldr = args.N;
    }
    cpu::gemm(pool_, args);
  }

  // q/k/v/out are contiguous (B, T, heads, D) tensors.
  void attention(const CpuDispatch& d, const std::vector<int64_t>& dims, const std::vector<float*>& ops) {
    cpu::AttentionArgs args;
    args.B = dims[0];
    args.T = dims[1];
    args.H = dims[2];
    args.Hkv = dims[3];
    args.D = dims[4];
    args.q = ops[0];
    args.q_row_stride = args.H * args.D;
    args.k = ops[1];
    args.k_row_stride = args.Hkv * args.D;
    args.v = ops[2];
    args.v_row_stride = args.Hkv * args.D;
    args.out = ops[3];
    args.out_row_stride = args.H * args.D;
    args.scale = d.floats[0];
    args.causal = d.ints[0] == 1;
    cpu::attention(pool_, args);
  }

  void cachedAttention(const CpuDispatch& d, const std::vector<int64_t>& dims, const std::vector<float*>& ops) {
    cpu::CachedAttentionArgs args;
    args.B = dims[0];
    args.T = dims[1];
    args.H = dims[2];
    args.Hkv = dims[3];
    args.D = dims[4];
    args.S = dims[6];
    args.q = ops[0];
    args.k_cache = ops[1];
    args.v_cache = ops[2];
    args.offsets = ids(ops[3]);
    args.out = ops[4];
    args.scale = d.floats[0];
    cpu::cachedAttention(pool_, args);
  }

  static const int32_t* ids(const float* operand) { return reinterpret_cast<const int32_t*>(operand); }

  cpu::ThreadPool pool_;
};

}  // namespace

std::unique_ptr<Device> makeCpuDevice(int num_threads) { return std::make_unique<CpuDevice>(num_threads); }

}  // namespace lathe::runtime
