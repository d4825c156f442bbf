#include "KernelLayout.h"

#include <limits>

namespace lathe::runtime {
namespace {

using fb::DType;
using fb::KernelKind;

constexpr auto kF32 = DType::F32;

OperandLayout read(const char* name, std::vector<int> dims, WeightShape weight = WeightShape::ElementCount) {
  return {name, Access::Read, kF32, std::move(dims), weight, std::nullopt};
}
OperandLayout write(const char* name, std::vector<int> dims, Access access = Access::Write) {
  return {name, access, kF32, std::move(dims), WeightShape::Forbidden, std::nullopt};
}

OperandLayout state(const char* name, std::vector<int> dims, Access access) {
  return {name, access, kF32, std::move(dims), WeightShape::Forbidden, fb::BufferSpace::State};
}
OperandLayout perSequence(const char* name, IntRange range) {
  return {name, Access::Read, DType::I32, {0}, WeightShape::Forbidden, fb::BufferSpace::Input, range};
}

std::string checkBool(const char* name, int64_t value) {
  if (value == 0 || value == 1) return "";
  return std::string("int param '") + name + "' must be 0 or 1, got " + std::to_string(value);
}

std::string checkRange(const char* name, int64_t value, int64_t max) {
  if (value >= 0 && value <= max) return "";
  return std::string("int param '") + name + "' must be in [0, " + std::to_string(max) + "], got " +
         std::to_string(value);
}

constexpr int64_t kMaxAct = 4;  // lathe::cpu::Act::Silu
constexpr int64_t kMaxGradients = 1 << 20;

/// Read by a kernel: an activation (anywhere but a weight) or a parameter
/// (a weight or a parameter state, shaped exactly by `dims`).
OperandLayout parameter(const char* name, std::vector<int> dims) { return read(name, std::move(dims), WeightShape::Exact); }
/// A persistent accumulator (gradient, parameter or moment state) updated in place.
OperandLayout accumulator(const char* name, std::vector<int> dims) { return state(name, std::move(dims), Access::ReadWrite); }
OperandLayout inputIds(const char* name, std::vector<int> dims) {
  return {name, Access::Read, DType::I32, std::move(dims), WeightShape::Forbidden, fb::BufferSpace::Input};
}
OperandLayout activation(const char* name, std::vector<int> dims) {
  return {name, Access::Read, kF32, std::move(dims), WeightShape::Forbidden, std::nullopt};
}
/// A fixed-size f32 vector: hyper-parameters (8), a loss or a norm (1).
OperandLayout vector(const char* name, Access access, int64_t elements) {
  OperandLayout layout{name, access, kF32, {}, WeightShape::Forbidden, std::nullopt};
  layout.fixed_elements = elements;
  return layout;
}
constexpr int64_t kHyperParameters = 8;
/// Dropout's (2) i32 input [seed, step].
OperandLayout rngInput() {
  OperandLayout layout{"rng", Access::Read, DType::I32, {}, WeightShape::Forbidden, fb::BufferSpace::Input};
  layout.fixed_elements = 2;
  return layout;
}

}  // namespace

const KernelSignature* kernelSignature(KernelKind kind) {
  static const KernelSignature kEmbedding{"Embedding", {"rows", "C"}, {}, {}};
  static const KernelSignature kAddPositions{"AddPositions", {"B", "T", "C"}, {"mode"}, {}};
  static const KernelSignature kLayerNorm{"LayerNorm", {"rows", "C"}, {"has_bias"}, {"eps"}};
  static const KernelSignature kRMSNorm{"RMSNorm", {"rows", "C"}, {}, {"eps"}};
  static const KernelSignature kGemm{"Gemm", {"M", "N", "K"}, {"trans_b", "act", "has_bias", "has_residual"}, {}};
  static const KernelSignature kRope{"Rope", {"B", "T", "H", "D"}, {}, {"theta"}};
  static const KernelSignature kAttention{"Attention", {"B", "T", "H", "Hkv", "D"}, {"causal"}, {"scale"}};
  static const KernelSignature kUnary{"Unary", {"n"}, {"act"}, {}};
  static const KernelSignature kBinary{"Binary", {"n"}, {"op"}, {}};
  static const KernelSignature kSwiGLU{"SwiGLU", {"n"}, {}, {}};
  static const KernelSignature kKVCacheWrite{"KVCacheWrite", {"B", "T", "Hkv", "D", "Bmax", "S"}, {"has_offsets"}, {}};
  static const KernelSignature kCachedAttention{
      "CachedAttention", {"B", "T", "H", "Hkv", "D", "Bmax", "S"}, {}, {"scale"}};
  static const KernelSignature kGatherLast{"GatherLast", {"B", "T", "C"}, {"has_lengths"}, {}};
  static const KernelSignature kRopeAt{"RopeAt", {"B", "T", "H", "D"}, {}, {"theta"}};
  static const KernelSignature kAddPositionsAt{"AddPositionsAt", {"B", "T", "C"}, {"mode"}, {}};
  static const KernelSignature kLayerNormStats{"LayerNormStats", {"rows", "C"}, {}, {"eps"}};
  static const KernelSignature kRMSNormStats{"RMSNormStats", {"rows", "C"}, {}, {"eps"}};
  static const KernelSignature kAttentionLse{"AttentionLse", {"B", "T", "H", "Hkv", "D"}, {"causal"}, {"scale"}};
  static const KernelSignature kCrossEntropy{"CrossEntropy", {"rows", "V", "stats"}, {"ignore_index"}, {}};
  static const KernelSignature kCrossEntropyGrad{"CrossEntropyGrad", {"rows", "V", "stats"}, {"ignore_index"}, {}};
  static const KernelSignature kGemmWeightGrad{"GemmWeightGrad", {"M", "N", "K"}, {}, {}};
  static const KernelSignature kBiasGrad{"BiasGrad", {"rows", "N"}, {}, {}};
  static const KernelSignature kEmbeddingGrad{"EmbeddingGrad", {"rows", "C", "V"}, {}, {}};
  static const KernelSignature kPositionsGrad{"PositionsGrad", {"B", "T", "C", "P"}, {}, {}};
  static const KernelSignature kAccumulate{"Accumulate", {"n"}, {}, {}};
  static const KernelSignature kLayerNormGrad{"LayerNormGrad", {"rows", "C"}, {}, {}};
  static const KernelSignature kRMSNormGrad{"RMSNormGrad", {"rows", "C"}, {}, {}};
  static const KernelSignature kAttentionGrad{"AttentionGrad", {"B", "T", "H", "Hkv", "D"}, {"causal"}, {"scale"}};
  static const KernelSignature kRopeGrad{"RopeGrad", {"B", "T", "H", "D"}, {}, {"theta"}};
  static const KernelSignature kUnaryGrad{"UnaryGrad", {"n"}, {"act"}, {}};
  static const KernelSignature kSwiGLUGrad{"SwiGLUGrad", {"n"}, {}, {}};
  static const KernelSignature kGradNorm{"GradNorm", {}, {"count"}, {}};  // one dim per gradient
  static const KernelSignature kAdamW{"AdamW", {"n"}, {"decay"}, {}};
  static const KernelSignature kDropout{"Dropout", {"n"}, {"stream"}, {"p"}};
  switch (kind) {
    case KernelKind::Embedding: return &kEmbedding;
    case KernelKind::AddPositions: return &kAddPositions;
    case KernelKind::LayerNorm: return &kLayerNorm;
    case KernelKind::RMSNorm: return &kRMSNorm;
    case KernelKind::Gemm: return &kGemm;
    case KernelKind::Rope: return &kRope;
    case KernelKind::Attention: return &kAttention;
    case KernelKind::Unary: return &kUnary;
    case KernelKind::Binary: return &kBinary;
    case KernelKind::SwiGLU: return &kSwiGLU;
    case KernelKind::KVCacheWrite: return &kKVCacheWrite;
    case KernelKind::CachedAttention: return &kCachedAttention;
    case KernelKind::GatherLast: return &kGatherLast;
    case KernelKind::RopeAt: return &kRopeAt;
    case KernelKind::AddPositionsAt: return &kAddPositionsAt;
    case KernelKind::LayerNormStats: return &kLayerNormStats;
    case KernelKind::RMSNormStats: return &kRMSNormStats;
    case KernelKind::AttentionLse: return &kAttentionLse;
    case KernelKind::CrossEntropy: return &kCrossEntropy;
    case KernelKind::CrossEntropyGrad: return &kCrossEntropyGrad;
    case KernelKind::GemmWeightGrad: return &kGemmWeightGrad;
    case KernelKind::BiasGrad: return &kBiasGrad;
    case KernelKind::EmbeddingGrad: return &kEmbeddingGrad;
    case KernelKind::PositionsGrad: return &kPositionsGrad;
    case KernelKind::Accumulate: return &kAccumulate;
    case KernelKind::LayerNormGrad: return &kLayerNormGrad;
    case KernelKind::RMSNormGrad: return &kRMSNormGrad;
    case KernelKind::AttentionGrad: return &kAttentionGrad;
    case KernelKind::RopeGrad: return &kRopeGrad;
    case KernelKind::UnaryGrad: return &kUnaryGrad;
    case KernelKind::SwiGLUGrad: return &kSwiGLUGrad;
    case KernelKind::GradNorm: return &kGradNorm;
    case KernelKind::AdamW: return &kAdamW;
    case KernelKind::Dropout: return &kDropout;
  }
  return nullptr;
}

std::string checkIntParams(KernelKind kind, const std::vector<int64_t>& ints) {
  switch (kind) {
    case KernelKind::AddPositions:
    case KernelKind::AddPositionsAt: return checkBool("mode", ints[0]);
    case KernelKind::KVCacheWrite: return checkBool("has_offsets", ints[0]);
    case KernelKind::GatherLast: return checkBool("has_lengths", ints[0]);
    case KernelKind::LayerNorm: return checkBool("has_bias", ints[0]);
    case KernelKind::Gemm: {
      std::string error = checkBool("trans_b", ints[0]);
      if (error.empty()) error = checkRange("act", ints[1], kMaxAct);
      if (error.empty()) error = checkBool("has_bias", ints[2]);
      if (error.empty()) error = checkBool("has_residual", ints[3]);
      return error;
    }
    case KernelKind::Attention:
    case KernelKind::AttentionLse:
    case KernelKind::AttentionGrad: return checkBool("causal", ints[0]);
    case KernelKind::Unary:
    case KernelKind::UnaryGrad: return checkRange("act", ints[0], kMaxAct);
    case KernelKind::AdamW: return checkBool("decay", ints[0]);
    case KernelKind::GradNorm: return checkRange("count", ints[0], kMaxGradients);
    case KernelKind::CrossEntropy:
    case KernelKind::CrossEntropyGrad: return checkRange("ignore_index", ints[0] + (int64_t{1} << 31), (int64_t{1} << 32) - 1);
    case KernelKind::Binary: return checkBool("op", ints[0]);
    case KernelKind::Dropout: return checkRange("stream", ints[0], std::numeric_limits<int64_t>::max());
    default: return "";
  }
}

std::vector<OperandLayout> operandLayout(KernelKind kind, const std::vector<int64_t>& ints) {
  switch (kind) {
    case KernelKind::Embedding: {
      OperandLayout ids{"ids", Access::Read, DType::I32, {0}, WeightShape::Forbidden, fb::BufferSpace::Input};
      OperandLayout table{"table", Access::Read, kF32, {1}, WeightShape::EmbeddingTable, std::nullopt};
      return {ids, table, write("out", {0, 1})};
    }
    case KernelKind::AddPositions: {
      std::vector<OperandLayout> ops{write("x", {0, 1, 2}, Access::ReadWrite)};
      if (ints[0] == 0) {
        ops.push_back({"pos", Access::Read, kF32, {2}, WeightShape::PositionTable, std::nullopt});
      }
      return ops;
    }
    case KernelKind::LayerNorm: {
      std::vector<OperandLayout> ops{read("x", {0, 1}), read("w", {1}, WeightShape::Exact)};
      if (ints[0] == 1) ops.push_back(read("b", {1}, WeightShape::Exact));
      ops.push_back(write("y", {0, 1}));
      return ops;
    }
    case KernelKind::RMSNorm:
      return {read("x", {0, 1}), read("w", {1}, WeightShape::Exact), write("y", {0, 1})};
    case KernelKind::Gemm: {
      const bool trans_b = ints[0] == 1;
      std::vector<OperandLayout> ops{read("A", {0, 2}),
                                     read("B", trans_b ? std::vector<int>{1, 2} : std::vector<int>{2, 1},
                                          WeightShape::Exact),
                                     write("C", {0, 1})};
      if (ints[2] == 1) ops.push_back(read("bias", {1}, WeightShape::Exact));
      if (ints[3] == 1) ops.push_back(read("residual", {0, 1}));
      return ops;
    }
    case KernelKind::Rope:
      return {write("x", {0, 1, 2, 3}, Access::ReadWrite)};
    case KernelKind::Attention:
      return {read("q", {0, 1, 2, 4}), read("k", {0, 1, 3, 4}), read("v", {0, 1, 3, 4}),
              write("out", {0, 1, 2, 4})};
    case KernelKind::Unary:
      return {read("x", {0}), write("y", {0})};
    case KernelKind::Binary:
      return {read("a", {0}), read("b", {0}), write("y", {0})};
    case KernelKind::SwiGLU:
      return {read("gate", {0}), read("up", {0}), write("y", {0})};
    case KernelKind::KVCacheWrite: {
      std::vector<OperandLayout> ops{state("cache", {4, 5, 2, 3}, Access::ReadWrite), read("x", {0, 1, 2, 3})};
      if (ints[0] == 1) ops.push_back(perSequence("offsets", IntRange::Position));
      return ops;
    }
    case KernelKind::CachedAttention:
      return {read("q", {0, 1, 2, 4}), state("k_cache", {5, 6, 3, 4}, Access::Read),
              state("v_cache", {5, 6, 3, 4}, Access::Read),
              perSequence("offsets", IntRange::Position), write("out", {0, 1, 2, 4})};
    case KernelKind::GatherLast: {
      std::vector<OperandLayout> ops{read("x", {0, 1, 2})};
      if (ints[0] == 1) ops.push_back(perSequence("lengths", IntRange::Length));
      ops.push_back(write("y", {0, 2}));
      return ops;
    }
    case KernelKind::RopeAt:
      return {write("x", {0, 1, 2, 3}, Access::ReadWrite), perSequence("offsets", IntRange::Position)};
    case KernelKind::AddPositionsAt: {
      std::vector<OperandLayout> ops{write("x", {0, 1, 2}, Access::ReadWrite),
                                     perSequence("offsets", IntRange::Position)};
      if (ints[0] == 0) {
        ops.push_back({"pos", Access::Read, kF32, {2}, WeightShape::PositionTable, std::nullopt});
      }
      return ops;
    }
    case KernelKind::LayerNormStats:
      return {read("x", {0, 1}), parameter("w", {1}), parameter("b", {1}), write("y", {0, 1}), write("mean", {0}),
              write("rstd", {0})};
    case KernelKind::RMSNormStats:
      return {read("x", {0, 1}), parameter("w", {1}), write("y", {0, 1}), write("rstd", {0})};
    case KernelKind::AttentionLse:
      return {read("q", {0, 1, 2, 4}), read("k", {0, 1, 3, 4}), read("v", {0, 1, 3, 4}), write("out", {0, 1, 2, 4}),
              write("lse", {0, 1, 2})};
    case KernelKind::CrossEntropy:
      return {activation("logits", {0, 1}), inputIds("targets", {0}), vector("loss", Access::Write, 1),
              write("token_stats", {0, 2})};
    case KernelKind::CrossEntropyGrad:
      return {write("logits", {0, 1}, Access::ReadWrite), inputIds("targets", {0}),
              vector("loss", Access::Write, 1), write("token_stats", {0, 2})};
    case KernelKind::GemmWeightGrad:
      return {accumulator("dW", {1, 2}), activation("dY", {0, 1}), read("X", {0, 2})};
    case KernelKind::BiasGrad:
      return {accumulator("db", {1}), activation("dY", {0, 1})};
    case KernelKind::EmbeddingGrad:
      return {accumulator("dtable", {2, 1}), activation("dY", {0, 1}), inputIds("ids", {0})};
    case KernelKind::PositionsGrad:
      return {accumulator("dpos", {3, 2}), activation("dY", {0, 1, 2})};
    case KernelKind::Accumulate:
      return {accumulator("acc", {0}), activation("x", {0})};
    case KernelKind::LayerNormGrad:
      return {activation("dy", {0, 1}), read("x", {0, 1}), parameter("w", {1}), activation("mean", {0}),
              activation("rstd", {0}), write("dx", {0, 1}), write("dw", {1}), write("db", {1})};
    case KernelKind::RMSNormGrad:
      return {activation("dy", {0, 1}), read("x", {0, 1}), parameter("w", {1}), activation("rstd", {0}),
              write("dx", {0, 1}), write("dw", {1})};
    case KernelKind::AttentionGrad:
      return {activation("dout", {0, 1, 2, 4}), read("q", {0, 1, 2, 4}), read("k", {0, 1, 3, 4}),
              read("v", {0, 1, 3, 4}), activation("out", {0, 1, 2, 4}), activation("lse", {0, 1, 2}),
              write("dq", {0, 1, 2, 4}), write("dk", {0, 1, 3, 4}), write("dv", {0, 1, 3, 4})};
    case KernelKind::RopeGrad:
      return {write("dx", {0, 1, 2, 3}, Access::ReadWrite)};
    case KernelKind::UnaryGrad:
      return {read("x", {0}), activation("dy", {0}), write("dx", {0})};
    case KernelKind::SwiGLUGrad:
      return {read("gate", {0}), read("up", {0}), activation("dy", {0}), write("dgate", {0}), write("dup", {0})};
    case KernelKind::GradNorm: {
      std::vector<OperandLayout> ops{vector("hyper", Access::Read, kHyperParameters), vector("norm", Access::Write, 1)};
      for (int64_t i = 0; i < ints[0]; ++i) ops.push_back(state("grad", {static_cast<int>(i)}, Access::Read));
      return ops;
    }
    case KernelKind::AdamW:
      return {accumulator("param", {0}), accumulator("grad", {0}), accumulator("m", {0}), accumulator("v", {0}),
              vector("hyper", Access::Read, kHyperParameters), vector("norm", Access::Read, 1)};
    case KernelKind::Dropout:
      return {read("x", {0}), rngInput(), write("y", {0})};
  }
  return {};
}

std::vector<const char*> dimNames(KernelKind kind, const std::vector<int64_t>& ints) {
  if (kind != KernelKind::GradNorm) return kernelSignature(kind)->dim_names;
  return std::vector<const char*>(static_cast<size_t>(ints[0]), "n");
}

std::optional<int64_t> evaluateDim(const fb::Dim& dim, int64_t B, int64_t T) {
  int64_t value = dim.coefficient();
  for (int i = 0; i < dim.b_pow(); ++i) {
    if (__builtin_mul_overflow(value, B, &value)) return std::nullopt;
  }
  for (int i = 0; i < dim.t_pow(); ++i) {
    if (__builtin_mul_overflow(value, T, &value)) return std::nullopt;
  }
  return value;
}

int64_t evaluateVerifiedDim(const fb::Dim& dim, int64_t B, int64_t T) {
  return *evaluateDim(dim, B, T);
}

std::string dimToString(const fb::Dim& dim) {
  std::string text;
  auto append = [&](const std::string& factor) { text += (text.empty() ? "" : "*") + factor; };
  if (dim.coefficient() != 1 || (dim.b_pow() == 0 && dim.t_pow() == 0)) append(std::to_string(dim.coefficient()));
  if (dim.b_pow() == 1) append("B");
  if (dim.b_pow() > 1) append("B^" + std::to_string(dim.b_pow()));
  if (dim.t_pow() == 1) append("T");
  if (dim.t_pow() > 1) append("T^" + std::to_string(dim.t_pow()));
  return text;
}

}  // namespace lathe::runtime
