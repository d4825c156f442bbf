// GEMMs on matrix units (codegen/gpu/lib/MatrixUnitGemmKernels.cpp): tensor
// cores on cuda, the same kernels with their matrix ops emulated in scalar
// code on vulkan (lavapipe in CI), which checks the tiling, the operand split
// and the epilogues everywhere. lavapipe takes ~20 s to compile each of these
// large kernels, so the cases are few and each covers several edges. Shapes are ragged against the 128x128 tile and
// the 8-deep slab; row strides that are multiples of 4 take the 16-byte-load
// path (1x200x300, 256x384x264, 130x132x68, 96x260x132, fp16 37x70x300), the others
// single-element loads. fp32 precision (split TF32 operands) keeps the usual
// tolerance; TF32 operands (--matmul-precision tf32) carry 2^-11 relative
// rounding each, so their cases allow 2e-3 of max|C|.
#include "KernelParity.h"

namespace lathe::test {
namespace {

using fb::KernelKind;

enum Act : int64_t { kNone, kGelu, kGeluTanh, kRelu, kSilu };

KernelCase onMatrixUnits(KernelCase c) {
  c.label = "mu_" + c.label;
  c.matrix_units = true;
  if (c.kind == KernelKind::Gemm) c.dim_bounds = {4096, 4096, 4096};  // M above the GEMV's bound
  return c;
}

KernelCase withTf32(KernelCase c) {
  c = onMatrixUnits(c);
  c.label += "_tf32";
  c.tf32_matmul = true;
  c.tolerance = 2e-3;
  return c;
}

const KernelCase kMatrixUnitGemm[] = {
    onMatrixUnits({"gemm_nt_5x13x7", KernelKind::Gemm, {5, 13, 7}, {1, kNone, 0, 0}, {}}),
    onMatrixUnits({"gemm_nn_129x257x9", KernelKind::Gemm, {129, 257, 9}, {0, kNone, 0, 0}, {}}),
    onMatrixUnits({"gemm_nt_1x200x300", KernelKind::Gemm, {1, 200, 300}, {1, kNone, 0, 0}, {}}),
    onMatrixUnits({"gemm_nn_67x130x5_bias", KernelKind::Gemm, {67, 130, 5}, {0, kNone, 1, 0}, {}}),
    onMatrixUnits({"gemm_nt_130x70x33_gelu_bias_residual", KernelKind::Gemm, {130, 70, 33}, {1, kGelu, 1, 1}, {}}),
    onMatrixUnits({"gemm_nt_256x384x264_gelu_tanh_bias", KernelKind::Gemm, {256, 384, 264}, {1, kGeluTanh, 1, 0}, {}}),
    onMatrixUnits({"gemm_nn_130x132x68_bias", KernelKind::Gemm, {130, 132, 68}, {0, kNone, 1, 0}, {}}),
    onMatrixUnits({"gemm_weight_grad_130x70x33", KernelKind::GemmWeightGrad, {130, 70, 33}, {}, {}}),
    onMatrixUnits({"gemm_weight_grad_96x260x132", KernelKind::GemmWeightGrad, {96, 260, 132}, {}, {}}),
    withTf32({"gemm_nn_129x257x300_relu_bias_residual", KernelKind::Gemm, {129, 257, 300}, {0, kRelu, 1, 1}, {}}),
    withTf32({"gemm_weight_grad_200x260x131", KernelKind::GemmWeightGrad, {200, 260, 131}, {}, {}}),
};
INSTANTIATE_TEST_SUITE_P(MatrixUnitGemm, KernelParity, ::testing::ValuesIn(kMatrixUnitGemm), caseName);

// fp16 weights are exact in TF32: B has no small part.
KernelCase withF16Weights(KernelCase c) {
  c = onMatrixUnits(c);
  c.label += "_w16";
  c.f16_weights = true;
  return c;
}

const KernelCase kMatrixUnitF16[] = {
    withF16Weights({"gemm_nt_37x70x300", KernelKind::Gemm, {37, 70, 300}, {1, kNone, 0, 0}, {}}),
};
INSTANTIATE_TEST_SUITE_P(MatrixUnitGemmF16, KernelParity, ::testing::ValuesIn(kMatrixUnitF16), caseName);

}  // namespace
}  // namespace lathe::test
