// CPU kernels of the shared kernel representation (see docs/architecture.md):
// one function per kernel kind, fp32, row-major, multithreaded over the
// ThreadPool and vectorized with AVX-512 where the CPU has it (AVX2/scalar
// fallbacks otherwise). Shapes follow llm.c's notation: B batch, T time,
// C channels, H heads, D head dim.
#pragma once

#include <cstdint>
#include <memory>

namespace lathe::cpu {

class ThreadPool;
class PackedWeight;

enum class Act : int32_t { None = 0, Gelu = 1, GeluTanh = 2, Relu = 3, Silu = 4 };

/// C(M,N) = act(op(A) . op(B) + bias(N)) + residual(M,N)
/// op(A) = A stored (M,K), or A^T with A stored (K,M) when trans_a (weight gradients: dW += dY^T . X).
/// op(B) = B^T with B stored (N,K) when trans_b (nn.Linear weights), else B stored (K,N).
/// bias and residual may be null; residual may alias C.
/// accumulate: C(M,N) += op(A) . op(B) + bias (gradient accumulation); needs act None and no residual.
struct GemmArgs {
  int64_t M = 0, N = 0, K = 0;
  const float* A = nullptr; int64_t lda = 0;
  const float* B = nullptr; int64_t ldb = 0; bool trans_b = true;
  float* C = nullptr; int64_t ldc = 0;
  const float* bias = nullptr;
  Act act = Act::None;
  const float* residual = nullptr; int64_t ldr = 0;
  bool trans_a = false;     // lda >= M when set, else lda >= K
  bool accumulate = false;
  /// Optional: op(B) already packed (trans_b, B stored (N,K)); B may then be null.
  const PackedWeight* packed_b = nullptr;
};
void gemm(ThreadPool& pool, const GemmArgs& args);

/// An immutable trans_b GEMM operand (a weight stored (N,K)) packed once into
/// the GEMM's panel layout, so calls that pass it skip repacking B.
class PackedWeight {
public:
  /// Packs B(N,K) (row stride ldb >= K); B may be freed afterwards.
  PackedWeight(ThreadPool& pool, const float* B, int64_t ldb, int64_t N, int64_t K);
  PackedWeight(const PackedWeight&) = delete;
  PackedWeight& operator=(const PackedWeight&) = delete;
  int64_t N() const { return N_; }
  int64_t K() const { return K_; }
  const float* data() const { return data_.get(); }
  /// The kernel build whose layout this is (the one active when packed).
  const void* layout() const { return layout_; }
  size_t bytes() const { return bytes_; }

private:
  struct Free {
    void operator()(float* p) const;
  };
  int64_t N_, K_;
  size_t bytes_;
  const void* layout_;
  std::unique_ptr<float, Free> data_;
};

/// out(rows,C) = table[ids[r]]; ids already validated to lie in [0, vocab).
void embedding(ThreadPool& pool, const int32_t* ids, const float* table, float* out, int64_t rows, int64_t C);

/// x(B,T,C) += pos[pos_offset + t] (learned table, (P,C)).
void addLearnedPositions(ThreadPool& pool, float* x, const float* pos, int64_t B, int64_t T, int64_t C, int64_t pos_offset);
/// x(B,T,C) += PE(pos_offset + t): PE[p, j] = sin(p / 10000^(2*(j/2)/C)) for even j, cos for odd j.
void addSinusoidalPositions(ThreadPool& pool, float* x, int64_t B, int64_t T, int64_t C, int64_t pos_offset);

/// y(rows,C) = (x - mean) / sqrt(var + eps) * w + b   (b may be null; biased variance)
void layerNorm(ThreadPool& pool, const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t C, float eps);
/// y(rows,C) = x / sqrt(mean(x^2) + eps) * w
void rmsNorm(ThreadPool& pool, const float* x, const float* w, float* y, int64_t rows, int64_t C, float eps);

/// In place on x(B,T,H,D), rotate-half convention (GPT-NeoX / HF Llama):
/// for i < D/2, f = theta^(-2i/D), a = (pos_offset+t)*f:
///   x[i] <- x[i]cos a - x[i+D/2] sin a ;  x[i+D/2] <- x[i+D/2] cos a + x[i] sin a
void rope(ThreadPool& pool, float* x, int64_t B, int64_t T, int64_t H, int64_t D, float theta, int64_t pos_offset);

/// Causal scaled-dot-product attention with grouped KV heads.
/// q(B,T,H,D), k,v(B,T,Hkv,D) -> out(B,T,H,D); head h reads kv head h / (H/Hkv).
/// Row strides are given in floats (so q/k/v may be views into a fused QKV buffer).
struct AttentionArgs {
  int64_t B = 0, T = 0, H = 0, Hkv = 0, D = 0;
  const float* q = nullptr; int64_t q_row_stride = 0;   // stride between consecutive (b,t)
  const float* k = nullptr; int64_t k_row_stride = 0;
  const float* v = nullptr; int64_t v_row_stride = 0;
  float* out = nullptr; int64_t out_row_stride = 0;
  float scale = 0;   // usually 1/sqrt(D)
  bool causal = true;
};
void attention(ThreadPool& pool, const AttentionArgs& args);

/// Inference with a KV cache: caches are (Bmax, S, Hkv, D); token t of
/// sequence b sits at position offsets[b] + t (offsets null: t), and the
/// caller guarantees offsets[b] + T <= S.
/// cache[b, offsets[b] + t] = x[b, t] for x(B,T,Hkv,D).
void kvCacheWrite(ThreadPool& pool, float* cache, const float* x, const int32_t* offsets, int64_t B, int64_t T,
                  int64_t Hkv, int64_t D, int64_t S);

/// out(B,T,H,D): query t of sequence b attends causally to cache rows
/// [0, offsets[b] + t] of sequence b; head h reads kv head h / (H/Hkv).
struct CachedAttentionArgs {
  int64_t B = 0, T = 0, H = 0, Hkv = 0, D = 0, S = 0;
  const float* q = nullptr;        // (B,T,H,D)
  const float* k_cache = nullptr;  // (Bmax,S,Hkv,D)
  const float* v_cache = nullptr;
  const int32_t* offsets = nullptr;  // (B)
  float* out = nullptr;            // (B,T,H,D)
  float scale = 0;
};
void cachedAttention(ThreadPool& pool, const CachedAttentionArgs& args);

/// y(B,C) = x[b, lengths[b] - 1] for x(B,T,C) (lengths null: row T - 1);
/// the caller guarantees 1 <= lengths[b] <= T.
void gatherLast(ThreadPool& pool, const float* x, const int32_t* lengths, float* y, int64_t B, int64_t T, int64_t C);

enum class Binary : int32_t { Add = 0, Mul = 1 };
void unary(ThreadPool& pool, Act act, const float* x, float* y, int64_t n);
void binary(ThreadPool& pool, Binary op, const float* a, const float* b, float* y, int64_t n);
/// y = silu(gate) * up, elementwise over n.
void swiglu(ThreadPool& pool, const float* gate, const float* up, float* y, int64_t n);

}  // namespace lathe::cpu
