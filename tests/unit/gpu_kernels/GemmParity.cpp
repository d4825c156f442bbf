// GEMM family (codegen/gpu/lib/GemmKernels.cpp). Gemm dims (M, N, K), ints
// (trans_b, act, has_bias, has_residual); GemmWeightGrad dims (M, N, K) with
// dW(N,K) += dY(M,N)^T . X(M,K); BiasGrad dims (rows, N). Shapes are ragged
// against the 64x64x16 tile: partial tiles on every edge, K below one slab,
// a single row, and one GPT-2-sized product. The gradient kinds accumulate
// into a state that starts random, so the "+=" is checked too.
#include "KernelParity.h"

namespace lathe::test {
namespace {

using fb::KernelKind;

enum Act : int64_t { kNone, kGelu, kGeluTanh, kRelu, kSilu };

const KernelCase kGemm[] = {
    // Plain products, both layouts of B.
    {"gemm_nn_5x13x7", KernelKind::Gemm, {5, 13, 7}, {0, kNone, 0, 0}, {}},
    {"gemm_nt_5x13x7", KernelKind::Gemm, {5, 13, 7}, {1, kNone, 0, 0}, {}},
    {"gemm_nn_67x130x50", KernelKind::Gemm, {67, 130, 50}, {0, kNone, 0, 0}, {}},
    {"gemm_nt_67x130x50", KernelKind::Gemm, {67, 130, 50}, {1, kNone, 0, 0}, {}},
    {"gemm_nn_1x200x300", KernelKind::Gemm, {1, 200, 300}, {0, kNone, 0, 0}, {}},
    {"gemm_nt_1x200x300", KernelKind::Gemm, {1, 200, 300}, {1, kNone, 0, 0}, {}},
    {"gemm_nn_130x70x33", KernelKind::Gemm, {130, 70, 33}, {0, kNone, 0, 0}, {}},
    {"gemm_nt_130x70x33", KernelKind::Gemm, {130, 70, 33}, {1, kNone, 0, 0}, {}},
    {"gemm_nn_8x50x768", KernelKind::Gemm, {8, 50, 768}, {0, kNone, 0, 0}, {}},
    {"gemm_nt_8x50x768", KernelKind::Gemm, {8, 50, 768}, {1, kNone, 0, 0}, {}},
    {"gemm_nt_256x768x768", KernelKind::Gemm, {256, 768, 768}, {1, kNone, 0, 0}, {}},
    {"gemm_nn_256x768x768_bias", KernelKind::Gemm, {256, 768, 768}, {0, kNone, 1, 0}, {}},
    // Every activation, in both layouts.
    {"gemm_nn_gelu", KernelKind::Gemm, {67, 130, 50}, {0, kGelu, 0, 0}, {}},
    {"gemm_nt_gelu", KernelKind::Gemm, {130, 70, 33}, {1, kGelu, 0, 0}, {}},
    {"gemm_nn_gelu_tanh", KernelKind::Gemm, {67, 130, 50}, {0, kGeluTanh, 0, 0}, {}},
    {"gemm_nt_gelu_tanh", KernelKind::Gemm, {130, 70, 33}, {1, kGeluTanh, 0, 0}, {}},
    {"gemm_nn_relu", KernelKind::Gemm, {67, 130, 50}, {0, kRelu, 0, 0}, {}},
    {"gemm_nt_relu", KernelKind::Gemm, {130, 70, 33}, {1, kRelu, 0, 0}, {}},
    {"gemm_nn_silu", KernelKind::Gemm, {67, 130, 50}, {0, kSilu, 0, 0}, {}},
    {"gemm_nt_silu", KernelKind::Gemm, {130, 70, 33}, {1, kSilu, 0, 0}, {}},
    // Epilogue operands alone and together.
    {"gemm_nn_bias", KernelKind::Gemm, {5, 13, 7}, {0, kNone, 1, 0}, {}},
    {"gemm_nt_bias", KernelKind::Gemm, {67, 130, 50}, {1, kNone, 1, 0}, {}},
    {"gemm_nn_residual", KernelKind::Gemm, {130, 70, 33}, {0, kNone, 0, 1}, {}},
    {"gemm_nt_residual", KernelKind::Gemm, {8, 50, 768}, {1, kNone, 0, 1}, {}},
    {"gemm_nn_bias_residual", KernelKind::Gemm, {67, 130, 50}, {0, kNone, 1, 1}, {}},
    {"gemm_nt_bias_residual", KernelKind::Gemm, {1, 200, 300}, {1, kNone, 1, 1}, {}},
    {"gemm_nn_gelu_bias", KernelKind::Gemm, {130, 70, 33}, {0, kGelu, 1, 0}, {}},
    {"gemm_nt_relu_residual", KernelKind::Gemm, {5, 13, 7}, {1, kRelu, 0, 1}, {}},
    {"gemm_nn_gelu_tanh_bias_residual", KernelKind::Gemm, {67, 130, 50}, {0, kGeluTanh, 1, 1}, {}},
    {"gemm_nt_gelu_bias_residual", KernelKind::Gemm, {130, 70, 33}, {1, kGelu, 1, 1}, {}},
    {"gemm_nt_silu_bias_residual", KernelKind::Gemm, {8, 50, 768}, {1, kSilu, 1, 1}, {}},
    {"gemm_nt_256x768x768_gelu_bias_residual", KernelKind::Gemm, {256, 768, 768}, {1, kGelu, 1, 1}, {}},
    // dW(N,K) += dY(M,N)^T . X(M,K): the reduction runs over the M rows.
    {"gemm_weight_grad_5x13x7", KernelKind::GemmWeightGrad, {5, 13, 7}, {}, {}},
    {"gemm_weight_grad_67x130x50", KernelKind::GemmWeightGrad, {67, 130, 50}, {}, {}},
    {"gemm_weight_grad_1x200x300", KernelKind::GemmWeightGrad, {1, 200, 300}, {}, {}},
    {"gemm_weight_grad_130x70x33", KernelKind::GemmWeightGrad, {130, 70, 33}, {}, {}},
    {"gemm_weight_grad_768x50x8", KernelKind::GemmWeightGrad, {768, 50, 8}, {}, {}},
    {"gemm_weight_grad_256x768x768", KernelKind::GemmWeightGrad, {256, 768, 768}, {}, {}},
    // db(N) += column sums of dY(rows, N).
    {"bias_grad_5x13", KernelKind::BiasGrad, {5, 13}, {}, {}},
    {"bias_grad_1x200", KernelKind::BiasGrad, {1, 200}, {}, {}},
    {"bias_grad_1000x77", KernelKind::BiasGrad, {1000, 77}, {}, {}},
    {"bias_grad_256x768", KernelKind::BiasGrad, {256, 768}, {}, {}},
    {"bias_grad_16384x768", KernelKind::BiasGrad, {16384, 768}, {}, {}},
};
INSTANTIATE_TEST_SUITE_P(Gemm, KernelParity, ::testing::ValuesIn(kGemm), caseName);

}  // namespace
}  // namespace lathe::test
