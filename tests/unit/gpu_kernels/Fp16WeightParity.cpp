// Kernels reading fp16 weights (`lathe compile --weight-dtype f16`): the GPU
// reads the f16 storage and widens it, the cpu device widens the weights once
// when it imports them; both then compute in f32 on the same values, so the
// usual tolerance holds.
#include "KernelParity.h"

namespace lathe::test {
namespace {

using fb::KernelKind;

KernelCase withF16Weights(KernelCase c) {
  c.label += "_w16";
  c.f16_weights = true;
  return c;
}

const KernelCase kF16Weights[] = {
    withF16Weights({"gemm_nt_none", KernelKind::Gemm, {37, 70, 300}, {1, 0, 0, 0}, {}}),
    withF16Weights({"gemm_nt_gelu_tanh_bias", KernelKind::Gemm, {37, 70, 300}, {1, 2, 1, 0}, {}}),
    withF16Weights({"gemm_nt_none_bias_residual", KernelKind::Gemm, {19, 130, 65}, {1, 0, 1, 1}, {}}),
    withF16Weights({"embedding", KernelKind::Embedding, {45, 77}, {}, {}}),
    withF16Weights({"add_positions_learned", KernelKind::AddPositions, {3, 29, 70}, {0}, {}}),
    withF16Weights({"add_positions_at_learned", KernelKind::AddPositionsAt, {3, 5, 16}, {0}, {}}),
    withF16Weights({"layernorm_bias", KernelKind::LayerNorm, {37, 300}, {1}, {1e-5f}}),
    withF16Weights({"layernorm_narrow", KernelKind::LayerNorm, {5, 7}, {1}, {1e-5f}}),  // 14-byte weights
    withF16Weights({"rmsnorm", KernelKind::RMSNorm, {37, 300}, {}, {1e-6f}}),
    // fp16 weights of norms are read 8 bytes (4 values) at a time when C is a multiple of 4.
    withF16Weights({"layernorm_bias_c768", KernelKind::LayerNorm, {37, 768}, {1}, {1e-5f}}),
    withF16Weights({"rmsnorm_c768", KernelKind::RMSNorm, {37, 768}, {}, {1e-6f}}),
    withF16Weights({"rmsnorm_c7", KernelKind::RMSNorm, {5, 7}, {}, {1e-6f}}),
};
INSTANTIATE_TEST_SUITE_P(F16Weights, KernelParity, ::testing::ValuesIn(kF16Weights), caseName);

}  // namespace
}  // namespace lathe::test
