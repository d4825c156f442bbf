// Small artifacts built with the FlatBuffers object API, and naive reference
// computations to check the runtime's results against.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "artifact_generated.h"

namespace lathe::test {

/// Tokens (B, T) -> Embedding -> LayerNorm -> Gemm (+bias) -> logits (B, T, N).
struct TinyModel {
  static constexpr int64_t kVocab = 11, kChannels = 8, kOutputs = 5, kMaxBatch = 3, kMaxSeq = 4;
  static constexpr float kEps = 1e-5f;
  std::vector<float> table, ln_w, ln_b, proj_w, proj_b;  // proj_w is (N, C)

  TinyModel();
  fb::ArtifactT artifact() const;
  std::vector<float> reference(const std::vector<int32_t>& tokens, int64_t B, int64_t T) const;
};

/// Input x (B, T, C) through every other kernel kind: Unary, AddPositions
/// (sinusoidal), RMSNorm, Gemm (trans_b both ways, act, residual), Rope,
/// Attention with grouped KV heads, SwiGLU, Binary -> y (B, T, C).
struct MixedModel {
  static constexpr int64_t kHeads = 2, kKvHeads = 1, kHeadDim = 4, kChannels = kHeads * kHeadDim;
  static constexpr int64_t kMaxBatch = 2, kMaxSeq = 5;
  std::vector<float> rms_w, wq, wk, wv, wo;  // wq, wv, wo: (N, K); wk: (K, N)

  MixedModel();
  fb::ArtifactT artifact() const;
  std::vector<float> reference(const std::vector<float>& x, int64_t B, int64_t T) const;
};

std::vector<uint8_t> pack(const fb::ArtifactT& artifact);
fb::Dim dim(int64_t coefficient, int b_pow = 0, int t_pow = 0);
std::vector<float> seededValues(size_t count, uint32_t seed, float scale = 1.0f);

}  // namespace lathe::test
