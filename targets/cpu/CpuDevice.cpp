#include "CpuDevice.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <vector>

#include "Artifact.h"
#include "Error.h"
#include "KernelLayout.h"
#include "kernels/Dropout.h"
#include "kernels/Kernels.h"
#include "kernels/ThreadPool.h"
#include "kernels/TrainingKernels.h"
#include "lathe/support/Float16.h"

#include <cmath>

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
  std::string name;
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

  // f32 weights are used in place when aligned for floats (always, for a
  // mapped artifact whose writer aligned the weight data); f16 weights are
  // widened once here, so the kernels stay f32.
  std::unique_ptr<Buffer> importConstant(const void* data, size_t bytes, fb::DType dtype) override {
    if (dtype == fb::DType::F16) return widenHalves(data, bytes / sizeof(uint16_t));
    if (reinterpret_cast<uintptr_t>(data) % alignof(float) == 0) return std::make_unique<CpuBuffer>(data, bytes);
    return Device::importConstant(data, bytes, dtype);
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

  std::unique_ptr<PreparedEntry> prepare(const Artifact& artifact, size_t entry_index) override {
    const fb::EntryPoint& entry = artifact.entryPoint(entry_index);
    auto prepared = std::make_unique<CpuPreparedEntry>();
    for (const fb::Dispatch* dispatch : *entry.dispatches()) {
      prepared->dispatches.push_back({dispatch->kind(), copyStructs(dispatch->buffers()),
                                      copyStructs(dispatch->dims()), copyVector(dispatch->int_params()),
                                      copyVector(dispatch->float_params()),
                                      dispatch->name() == nullptr ? std::string() : dispatch->name()->str()});
    }
    return prepared;
  }

  void run(const PreparedEntry& entry, const Bindings& bindings, int64_t B, int64_t T) override {
    if (profiling_) profile_.clear();
    for (const CpuDispatch& dispatch : static_cast<const CpuPreparedEntry&>(entry).dispatches) {
      std::vector<int64_t> dims;
      for (const fb::Dim& dim : dispatch.dims) dims.push_back(evaluateVerifiedDim(dim, B, T));
      std::vector<float*> operands;
      for (const fb::BufferRef& ref : dispatch.operands) operands.push_back(resolve(ref, bindings));
      if (!profiling_) {
        execute(dispatch, dims, operands);
        continue;
      }
      const auto start = std::chrono::steady_clock::now();
      execute(dispatch, dims, operands);
      const std::chrono::duration<double, std::micro> elapsed = std::chrono::steady_clock::now() - start;
      profile_.push_back({dispatch.name, fb::EnumNameKernelKind(dispatch.kind), elapsed.count()});
    }
  }

private:
  std::unique_ptr<Buffer> widenHalves(const void* data, size_t count) {
    auto buffer = std::make_unique<CpuBuffer>(count * sizeof(float));
    const auto* halves = static_cast<const uint8_t*>(data);  // possibly unaligned
    float* values = static_cast<float*>(buffer->data());
    pool_.parallelFor(static_cast<int64_t>(count), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        uint16_t half;
        std::memcpy(&half, halves + i * sizeof(uint16_t), sizeof half);
        values[i] = halfToFloat(half);
      }
    });
    return buffer;
  }

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
      case fb::KernelKind::Gemm: return gemm(d, dims, ops, d.operands[1].space() == fb::BufferSpace::Weight);
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
      default: return executeTraining(d, dims, ops);
    }
  }

  // The training kinds (see runtime/schema/artifact.fbs for their operands).
  void executeTraining(const CpuDispatch& d, const std::vector<int64_t>& dims, const std::vector<float*>& ops) {
    switch (d.kind) {
      case fb::KernelKind::LayerNormStats:
        return cpu::layerNormForward(pool_, ops[0], ops[1], ops[2], ops[3], ops[4], ops[5], dims[0], dims[1],
                                     d.floats[0]);
      case fb::KernelKind::RMSNormStats:
        return cpu::rmsNormForward(pool_, ops[0], ops[1], ops[2], ops[3], dims[0], dims[1], d.floats[0]);
      case fb::KernelKind::AttentionLse:
        return cpu::attentionForward(pool_, attentionArgs(d, dims, ops), ops[4]);
      case fb::KernelKind::CrossEntropy:
      case fb::KernelKind::CrossEntropyGrad: return crossEntropy(d, dims, ops);
      case fb::KernelKind::GemmWeightGrad: {
        // dW(N,K) += dY(M,N)^T . X(M,K)
        cpu::GemmArgs args;
        args.M = dims[1];
        args.N = dims[2];
        args.K = dims[0];
        args.A = ops[1];
        args.lda = dims[1];
        args.trans_a = true;
        args.B = ops[2];
        args.ldb = dims[2];
        args.trans_b = false;
        args.C = ops[0];
        args.ldc = dims[2];
        args.accumulate = true;
        return cpu::gemm(pool_, args);
      }
      case fb::KernelKind::BiasGrad: return cpu::biasBackward(pool_, ops[1], dims[1], ops[0], dims[0], dims[1]);
      case fb::KernelKind::EmbeddingGrad:
        return cpu::embeddingBackward(pool_, ids(ops[2]), ops[1], ops[0], dims[0], dims[1], dims[2]);
      case fb::KernelKind::PositionsGrad:
        return cpu::learnedPositionsBackward(pool_, ops[1], ops[0], dims[0], dims[1], dims[2], 0);
      case fb::KernelKind::Accumulate: return cpu::binary(pool_, cpu::Binary::Add, ops[0], ops[1], ops[0], dims[0]);
      case fb::KernelKind::LayerNormGrad:
        // The backward kernel accumulates; these are fresh buffers.
        zero(ops[5], dims[0] * dims[1]);
        zero(ops[6], dims[1]);
        zero(ops[7], dims[1]);
        return cpu::layerNormBackward(pool_, ops[0], ops[1], ops[2], ops[3], ops[4], ops[5], ops[6], ops[7], dims[0],
                                      dims[1]);
      case fb::KernelKind::RMSNormGrad:
        zero(ops[4], dims[0] * dims[1]);
        zero(ops[5], dims[1]);
        return cpu::rmsNormBackward(pool_, ops[0], ops[1], ops[2], ops[3], ops[4], ops[5], dims[0], dims[1]);
      case fb::KernelKind::AttentionGrad: return attentionGrad(d, dims, ops);
      case fb::KernelKind::RopeGrad:
        return cpu::ropeBackward(pool_, ops[0], dims[0], dims[1], dims[2], dims[3], d.floats[0], 0);
      case fb::KernelKind::UnaryGrad:
        return cpu::unaryBackward(pool_, static_cast<cpu::Act>(d.ints[0]), ops[0], ops[1], ops[2], dims[0]);
      case fb::KernelKind::SwiGLUGrad:
        return cpu::swigluBackward(pool_, ops[0], ops[1], ops[2], ops[3], ops[4], dims[0]);
      case fb::KernelKind::GradNorm: return gradNorm(dims, ops);
      case fb::KernelKind::AdamW: return adamw(d, dims, ops);
      case fb::KernelKind::Dropout: return dropout(d, dims, ops);
      default: break;
    }
    throw Error(LATHE_ERROR_INTERNAL, "unknown kernel kind in a verified artifact");
  }

  static void zero(float* data, int64_t n) { std::memset(data, 0, static_cast<size_t>(n) * sizeof(float)); }

  // Targets are checked before anything is computed, so a bad one leaves every state untouched.
  void crossEntropy(const CpuDispatch& d, const std::vector<int64_t>& dims, const std::vector<float*>& ops) {
    cpu::CrossEntropyArgs args;
    args.rows = dims[0];
    args.V = dims[1];
    args.logits = ops[0];
    args.ld = dims[1];
    args.targets = ids(ops[1]);
    args.ignore_index = static_cast<int32_t>(d.ints[0]);
    args.losses = ops[3];
    args.lse = ops[3] + dims[0];
    int64_t count = 0;
    for (int64_t r = 0; r < args.rows; ++r) {
      const int32_t target = args.targets[r];
      if (target == args.ignore_index) continue;
      if (target < 0 || target >= args.V) {
        throw Error(LATHE_ERROR_INVALID_ARGUMENT, "target " + std::to_string(target) + " at flat position " +
                                                      std::to_string(r) + " is out of range [0, " +
                                                      std::to_string(args.V) + ") and is not the ignore index " +
                                                      std::to_string(args.ignore_index));
      }
      ++count;
    }
    const bool backward = d.kind == fb::KernelKind::CrossEntropyGrad;
    // The mean over unmasked rows: each row's gradient is scaled by 1 / count (none: no gradient).
    const cpu::CrossEntropyLoss loss =
        backward ? cpu::crossEntropyForwardBackward(pool_, args, count > 0 ? 1.0f / static_cast<float>(count) : 0.0f)
                 : cpu::crossEntropyForward(pool_, args);
    ops[2][0] = loss.mean;
  }

  static cpu::AttentionArgs attentionArgs(const CpuDispatch& d, const std::vector<int64_t>& dims,
                                          const std::vector<float*>& ops) {
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
    return args;
  }

  // bufs: dout, q, k, v, out, lse, dq, dk, dv
  void attentionGrad(const CpuDispatch& d, const std::vector<int64_t>& dims, const std::vector<float*>& ops) {
    cpu::AttentionBackwardArgs args;
    args.forward = attentionArgs(d, dims, {ops[1], ops[2], ops[3], ops[4]});
    args.lse = ops[5];
    args.dout = ops[0];
    args.dout_row_stride = dims[2] * dims[4];
    args.dq = ops[6];
    args.dq_row_stride = dims[2] * dims[4];
    args.dk = ops[7];
    args.dk_row_stride = dims[3] * dims[4];
    args.dv = ops[8];
    args.dv_row_stride = dims[3] * dims[4];
    cpu::attentionBackward(pool_, args);
  }

  /// hyper = [lr, beta1, beta2, eps, weight_decay, clip, grad_scale, step].
  static void checkHyper(const float* hyper) {
    for (int i = 0; i < 8; ++i) {
      if (!std::isfinite(hyper[i]))
        throw Error(LATHE_ERROR_INVALID_ARGUMENT, "optimizer hyper-parameter " + std::to_string(i) + " is not finite");
    }
    if (hyper[7] < 1 || hyper[7] != std::floor(hyper[7]))
      throw Error(LATHE_ERROR_INVALID_ARGUMENT, "optimizer step (hyper[7]) must be a positive integer, got " +
                                                    std::to_string(hyper[7]));
  }

  // bufs: hyper, norm, g_0 ...; the norm of grad_scale * g over every gradient.
  void gradNorm(const std::vector<int64_t>& dims, const std::vector<float*>& ops) {
    checkHyper(ops[0]);
    double sum = 0;
    for (size_t i = 0; i < dims.size(); ++i) sum += cpu::sumOfSquares(pool_, ops[2 + i], dims[i]);
    ops[1][0] = static_cast<float>(std::sqrt(sum) * std::fabs(static_cast<double>(ops[0][6])));
  }

  // bufs: param, grad, m, v, hyper, norm. Clears the gradient after the update.
  void adamw(const CpuDispatch& d, const std::vector<int64_t>& dims, const std::vector<float*>& ops) {
    const float* hyper = ops[4];
    checkHyper(hyper);
    const float norm = ops[5][0], clip = hyper[5];
    const float clip_scale = clip > 0 && norm > clip ? clip / (norm + 1e-6f) : 1.0f;
    cpu::AdamWArgs args;
    args.param = ops[0];
    args.grad = ops[1];
    args.m = ops[2];
    args.v = ops[3];
    args.n = dims[0];
    args.lr = hyper[0];
    args.beta1 = hyper[1];
    args.beta2 = hyper[2];
    args.eps = hyper[3];
    args.weight_decay = d.ints[0] == 1 ? hyper[4] : 0.0f;
    args.grad_scale = hyper[6] * clip_scale;
    args.step = static_cast<int64_t>(hyper[7]);
    cpu::adamw(pool_, args);
    zero(ops[1], dims[0]);
  }

  // b_is_weight: B is an immutable artifact weight, so a trans_b B is packed once and reused.
  void gemm(const CpuDispatch& d, const std::vector<int64_t>& dims, const std::vector<float*>& ops, bool b_is_weight) {
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
    if (b_is_weight && args.trans_b) args.packed_b = packedWeight(args.B, args.N, args.K);
    cpu::gemm(pool_, args);
  }

  // The packed copy of weight B(N,K), made on first use; null when this
  // weight was packed with another shape (then gemm packs B per call).
  const cpu::PackedWeight* packedWeight(const float* B, int64_t N, int64_t K) {
    std::unique_ptr<cpu::PackedWeight>& packed = packed_weights_[B];
    if (packed == nullptr) packed = std::make_unique<cpu::PackedWeight>(pool_, B, K, N, K);
    return packed->N() == N && packed->K() == K ? packed.get() : nullptr;
  }

  // q/k/v/out are contiguous (B, T, heads, D) tensors.
  void attention(const CpuDispatch& d, const std::vector<int64_t>& dims, const std::vector<float*>& ops) {
    cpu::attention(pool_, attentionArgs(d, dims, ops));
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

  /// ops: x, rng = [seed, step] (i32), y.
  void dropout(const CpuDispatch& d, const std::vector<int64_t>& dims, const std::vector<float*>& ops) {
    const int32_t* rng = ids(ops[1]);
    cpu::DropoutMask mask{static_cast<uint32_t>(rng[0]), static_cast<uint32_t>(rng[1]),
                          static_cast<uint64_t>(d.ints[0]), d.floats[0]};
    cpu::dropout(pool_, mask, ops[0], ops[2], dims[0]);
  }

  static const int32_t* ids(const float* operand) { return reinterpret_cast<const int32_t*>(operand); }

  cpu::ThreadPool pool_;
  // Keyed by the weight's data, which the session keeps for the device's lifetime.
  std::unordered_map<const float*, std::unique_ptr<cpu::PackedWeight>> packed_weights_;
};

}  // namespace

std::unique_ptr<Device> makeCpuDevice(int num_threads) { return std::make_unique<CpuDevice>(num_threads); }

}  // namespace lathe::runtime
