// Every GPU kernel variant the compiler can emit, one dispatch each, shaped as
// the artifact writer shapes them. Shared by the per-target lowering tests
// (SPIR-V and PTX), so both iterate the same variants.
#pragma once

#include <cstdint>
#include <ostream>
#include <vector>

#include "artifact_generated.h"
#include "lathe/codegen/gpu/GpuKernels.h"

namespace lathe::codegen::gpu {

using fb::KernelKind;

struct Case {
  const char* label;
  KernelKind kind;
  size_t operands;
  int dims;
  std::vector<int64_t> ints;
  int floats;
  std::vector<int64_t> dim_bounds = {};  // empty: unknown (the general kernels)
  std::vector<size_t> f16_operands = {};  // fp16 weights (--weight-dtype f16)
  MatmulPrecision precision = MatmulPrecision::Fp32;  // GEMMs on matrix units
};

inline const Case kCases[] = {
    {"unary_gelu", KernelKind::Unary, 2, 1, {1}, 0},
    {"unary_gelu_tanh", KernelKind::Unary, 2, 1, {2}, 0},
    {"unary_relu", KernelKind::Unary, 2, 1, {3}, 0},
    {"unary_silu", KernelKind::Unary, 2, 1, {4}, 0},
    {"binary_add", KernelKind::Binary, 3, 1, {0}, 0},
    {"binary_mul", KernelKind::Binary, 3, 1, {1}, 0},
    {"swiglu", KernelKind::SwiGLU, 3, 1, {}, 0},
    {"accumulate", KernelKind::Accumulate, 2, 1, {}, 0},
    // Training family (TrainingKernels.cpp).
    {"cross_entropy", KernelKind::CrossEntropy, 4, 3, {-100}, 0},
    {"cross_entropy_grad", KernelKind::CrossEntropyGrad, 4, 3, {-100}, 0},
    {"embedding_grad", KernelKind::EmbeddingGrad, 3, 3, {}, 0},
    {"positions_grad", KernelKind::PositionsGrad, 2, 4, {}, 0},
    {"layer_norm_grad", KernelKind::LayerNormGrad, 8, 2, {}, 0},
    {"rms_norm_grad", KernelKind::RMSNormGrad, 6, 2, {}, 0},
    {"rope_grad", KernelKind::RopeGrad, 1, 4, {}, 1},
    {"unary_grad_none", KernelKind::UnaryGrad, 3, 1, {0}, 0},
    {"unary_grad_gelu", KernelKind::UnaryGrad, 3, 1, {1}, 0},
    {"unary_grad_gelu_tanh", KernelKind::UnaryGrad, 3, 1, {2}, 0},
    {"unary_grad_relu", KernelKind::UnaryGrad, 3, 1, {3}, 0},
    {"unary_grad_silu", KernelKind::UnaryGrad, 3, 1, {4}, 0},
    {"swiglu_grad", KernelKind::SwiGLUGrad, 5, 1, {}, 0},
    {"dropout", KernelKind::Dropout, 3, 1, {7}, 1},
    {"adamw", KernelKind::AdamW, 6, 1, {0}, 0},
    {"adamw_decay", KernelKind::AdamW, 6, 1, {1}, 0},
    {"grad_norm", KernelKind::GradNorm, 5, 3, {3}, 0},
    // Attention family (AttentionKernels.cpp)
    {"attention_causal", KernelKind::Attention, 4, 5, {1}, 1},
    {"attention_full", KernelKind::Attention, 4, 5, {0}, 1},
    {"attention_lse_causal", KernelKind::AttentionLse, 5, 5, {1}, 1},
    {"attention_lse_full", KernelKind::AttentionLse, 5, 5, {0}, 1},
    {"cached_attention", KernelKind::CachedAttention, 5, 7, {}, 1},
    {"attention_grad_causal", KernelKind::AttentionGrad, 9, 5, {1}, 1},
    {"attention_grad_full", KernelKind::AttentionGrad, 9, 5, {0}, 1},
    // GEMM family (GemmKernels.cpp): linear layers emit trans_b with every epilogue; input
    // gradients emit the plain (K,N) product.
    {"gemm_nt_none", KernelKind::Gemm, 3, 3, {1, 0, 0, 0}, 0},
    {"gemm_nt_none_residual", KernelKind::Gemm, 4, 3, {1, 0, 0, 1}, 0},
    {"gemm_nt_none_bias", KernelKind::Gemm, 4, 3, {1, 0, 1, 0}, 0},
    {"gemm_nt_none_bias_residual", KernelKind::Gemm, 5, 3, {1, 0, 1, 1}, 0},
    {"gemm_nt_gelu", KernelKind::Gemm, 3, 3, {1, 1, 0, 0}, 0},
    {"gemm_nt_gelu_residual", KernelKind::Gemm, 4, 3, {1, 1, 0, 1}, 0},
    {"gemm_nt_gelu_bias", KernelKind::Gemm, 4, 3, {1, 1, 1, 0}, 0},
    {"gemm_nt_gelu_bias_residual", KernelKind::Gemm, 5, 3, {1, 1, 1, 1}, 0},
    {"gemm_nt_gelu_tanh", KernelKind::Gemm, 3, 3, {1, 2, 0, 0}, 0},
    {"gemm_nt_gelu_tanh_residual", KernelKind::Gemm, 4, 3, {1, 2, 0, 1}, 0},
    {"gemm_nt_gelu_tanh_bias", KernelKind::Gemm, 4, 3, {1, 2, 1, 0}, 0},
    {"gemm_nt_gelu_tanh_bias_residual", KernelKind::Gemm, 5, 3, {1, 2, 1, 1}, 0},
    {"gemm_nt_relu", KernelKind::Gemm, 3, 3, {1, 3, 0, 0}, 0},
    {"gemm_nt_relu_residual", KernelKind::Gemm, 4, 3, {1, 3, 0, 1}, 0},
    {"gemm_nt_relu_bias", KernelKind::Gemm, 4, 3, {1, 3, 1, 0}, 0},
    {"gemm_nt_relu_bias_residual", KernelKind::Gemm, 5, 3, {1, 3, 1, 1}, 0},
    {"gemm_nt_silu", KernelKind::Gemm, 3, 3, {1, 4, 0, 0}, 0},
    {"gemm_nt_silu_residual", KernelKind::Gemm, 4, 3, {1, 4, 0, 1}, 0},
    {"gemm_nt_silu_bias", KernelKind::Gemm, 4, 3, {1, 4, 1, 0}, 0},
    {"gemm_nt_silu_bias_residual", KernelKind::Gemm, 5, 3, {1, 4, 1, 1}, 0},
    {"gemm_nn_none", KernelKind::Gemm, 3, 3, {0, 0, 0, 0}, 0},
    {"gemm_nn_gelu_bias_residual", KernelKind::Gemm, 5, 3, {0, 1, 1, 1}, 0},
    {"gemm_weight_grad", KernelKind::GemmWeightGrad, 3, 3, {}, 0},
    {"bias_grad", KernelKind::BiasGrad, 2, 2, {}, 0},
    // Row kernels: norms, embeddings, positions (NormKernels.cpp) and the KV-cache family (InferenceKernels.cpp).
    {"layernorm", KernelKind::LayerNorm, 3, 2, {0}, 1},
    {"layernorm_bias", KernelKind::LayerNorm, 4, 2, {1}, 1},
    {"layernorm_stats", KernelKind::LayerNormStats, 6, 2, {}, 1},
    {"rmsnorm", KernelKind::RMSNorm, 3, 2, {}, 1},
    {"rmsnorm_stats", KernelKind::RMSNormStats, 4, 2, {}, 1},
    {"embedding", KernelKind::Embedding, 3, 2, {}, 0},
    {"add_positions_learned", KernelKind::AddPositions, 2, 3, {0}, 0},
    {"add_positions_sinusoidal", KernelKind::AddPositions, 1, 3, {1}, 0},
    {"rope", KernelKind::Rope, 1, 4, {}, 1},
    {"kv_cache_write", KernelKind::KVCacheWrite, 2, 6, {0}, 0},
    {"kv_cache_write_offsets", KernelKind::KVCacheWrite, 3, 6, {1}, 0},
    {"gather_last", KernelKind::GatherLast, 2, 3, {0}, 0},
    {"gather_last_lengths", KernelKind::GatherLast, 3, 3, {1}, 0},
    {"rope_at", KernelKind::RopeAt, 2, 4, {}, 1},
    {"add_positions_at_learned", KernelKind::AddPositionsAt, 3, 3, {0}, 0},
    {"add_positions_at_sinusoidal", KernelKind::AddPositionsAt, 2, 3, {1}, 0},
    // GEMV (GemmKernels.cpp): Gemm whose M is bounded by a decode batch, one variant per row count
    // (bounds round up to 1, 2, 4, 8), both storage orders of B, every epilogue.
    {"gemv_m1_nt_none", KernelKind::Gemm, 3, 3, {1, 0, 0, 0}, 0, {1, 50257, 768}},
    {"gemv_m2_nt_gelu_tanh_bias", KernelKind::Gemm, 4, 3, {1, 2, 1, 0}, 0, {2, 3072, 768}},
    {"gemv_m4_nt_none_bias_residual", KernelKind::Gemm, 5, 3, {1, 0, 1, 1}, 0, {3, 768, 3072}},
    {"gemv_m8_nt_gelu", KernelKind::Gemm, 3, 3, {1, 1, 0, 0}, 0, {8, 2304, 768}},
    {"gemv_m8_nt_relu_residual", KernelKind::Gemm, 4, 3, {1, 3, 0, 1}, 0, {8, 768, 768}},
    {"gemv_m8_nt_silu_bias_residual", KernelKind::Gemm, 5, 3, {1, 4, 1, 1}, 0, {8, 768, 768}},
    {"gemv_m1_nn_none", KernelKind::Gemm, 3, 3, {0, 0, 0, 0}, 0, {1, 768, 3072}},
    {"gemv_m8_nn_gelu_bias_residual", KernelKind::Gemm, 5, 3, {0, 1, 1, 1}, 0, {5, 768, 3072}},
    // fp16 weights: the operands a compiled model binds to weights, read as memref<?xf16>.
    {"gemm_nt_none_w16", KernelKind::Gemm, 3, 3, {1, 0, 0, 0}, 0, {}, {1}},
    {"gemm_nt_gelu_bias_w16", KernelKind::Gemm, 4, 3, {1, 1, 1, 0}, 0, {}, {1, 3}},
    {"gemm_nt_none_bias_residual_w16", KernelKind::Gemm, 5, 3, {1, 0, 1, 1}, 0, {}, {1, 3}},
    {"embedding_w16", KernelKind::Embedding, 3, 2, {}, 0, {}, {1}},
    {"add_positions_learned_w16", KernelKind::AddPositions, 2, 3, {0}, 0, {}, {1}},
    {"add_positions_at_learned_w16", KernelKind::AddPositionsAt, 3, 3, {0}, 0, {}, {2}},
    {"layernorm_w16", KernelKind::LayerNorm, 3, 2, {0}, 1, {}, {1}},
    {"layernorm_bias_w16", KernelKind::LayerNorm, 4, 2, {1}, 1, {}, {1, 2}},
    {"rmsnorm_w16", KernelKind::RMSNorm, 3, 2, {}, 1, {}, {1}},
};

/// GEMMs on matrix units (MatrixUnitGemmKernels.cpp): tensor cores on cuda,
/// emulated on vulkan. kCases' GEMMs take them too on cuda (fp32 precision);
/// these add TF32 precision, fp16 weights and the weight gradient's layout.
inline const Case kMatrixUnitCases[] = {
    {"mu_gemm_nt_none", KernelKind::Gemm, 3, 3, {1, 0, 0, 0}, 0},
    {"mu_gemm_nn_gelu_bias_residual", KernelKind::Gemm, 5, 3, {0, 1, 1, 1}, 0},
    {"mu_gemm_weight_grad", KernelKind::GemmWeightGrad, 3, 3, {}, 0},
    {"mu_gemm_nt_gelu_bias_w16", KernelKind::Gemm, 4, 3, {1, 1, 1, 0}, 0, {}, {1, 3}},
    {"mu_tf32_gemm_nt_none", KernelKind::Gemm, 3, 3, {1, 0, 0, 0}, 0, {}, {}, MatmulPrecision::Tf32},
    {"mu_tf32_gemm_nn_silu_residual", KernelKind::Gemm, 4, 3, {0, 4, 0, 1}, 0, {}, {}, MatmulPrecision::Tf32},
    {"mu_tf32_gemm_weight_grad", KernelKind::GemmWeightGrad, 3, 3, {}, 0, {}, {}, MatmulPrecision::Tf32},
};

/// gtest prints a case by its label (not as raw bytes in test listings).
inline void PrintTo(const Case& c, std::ostream* os) { *os << c.label; }

/// The dispatch shape of a case, as the artifact writer would record it.
inline DispatchShape shapeOf(const Case& c) {
  DispatchShape shape{c.kind, operandElements(c.kind, c.operands, c.ints), c.dims, c.ints, c.floats, c.dim_bounds};
  for (size_t i : c.f16_operands) shape.operands.at(i) = Element::F16;
  return shape;
}

/// A plan and the phases chained after it (cross-entropy's), each lowered on its own.
inline std::vector<const KernelPlan*> phasesOf(const KernelPlan& plan) {
  std::vector<const KernelPlan*> phases{&plan};
  for (const KernelPlan& next : plan.next_phases) phases.push_back(&next);
  return phases;
}

}  // namespace lathe::codegen::gpu
