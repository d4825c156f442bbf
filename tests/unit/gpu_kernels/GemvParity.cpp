// Gemm dispatches whose bound on M is small enough for the GEMV kernel
// (GemmKernels.cpp, gemvPlan): the runtime M at or below the bound, ragged N
// and K, both storage orders of B, every epilogue.
#include <string>

#include "KernelParity.h"
#include "lathe/codegen/gpu/GpuKernels.h"

namespace lathe::test {
namespace {

using fb::KernelKind;

const char* const kActs[] = {"none", "gelu", "gelu_tanh", "relu", "silu"};

/// Gemm (M, N, K) with ints (trans_b, act, has_bias, has_residual), compiled for M up to `m_bound`.
KernelCase gemv(int64_t M, int64_t m_bound, int64_t N, int64_t K, bool trans_b, int64_t act, bool bias,
                bool residual) {
  std::string label = "gemv_" + std::string(trans_b ? "nt" : "nn") + "_M" + std::to_string(M) + "_bound" +
                      std::to_string(m_bound) + "_N" + std::to_string(N) + "_K" + std::to_string(K) + "_" + kActs[act];
  if (bias) label += "_bias";
  if (residual) label += "_residual";
  KernelCase c{label, KernelKind::Gemm, {M, N, K}, {trans_b ? 1 : 0, act, bias ? 1 : 0, residual ? 1 : 0}, {}};
  c.dim_bounds = {m_bound, N, K};
  return c;
}

std::vector<KernelCase> gemvCases() {
  std::vector<KernelCase> cases;
  // Every epilogue for both orders of B, with N and K off every team and column multiple.
  for (bool trans_b : {true, false})
    for (int64_t act = 0; act < 5; ++act)
      for (bool bias : {false, true})
        for (bool residual : {false, true})
          cases.push_back(gemv(3, 4, trans_b ? 77 : 130, 45, trans_b, act, bias, residual));
  // Decode shapes of GPT-2 124M (C = 768, MLP 3072, vocab 50257) at batch 1, 3 and 8. The vocabulary
  // head is cut to K = 600: 50257 x 768 floats exceed lavapipe's 128 MiB storage buffer range.
  for (bool trans_b : {true, false}) {
    cases.push_back(gemv(1, 1, 50257, 600, trans_b, 0, false, false));
    cases.push_back(gemv(8, 8, 50257, 600, trans_b, 0, false, false));
    cases.push_back(gemv(3, 8, 2304, 768, trans_b, 0, true, false));
    cases.push_back(gemv(8, 8, 3072, 768, trans_b, 2, true, false));
    cases.push_back(gemv(1, 8, 768, 3072, trans_b, 0, true, true));
  }
  // Ragged and tiny: M below the bound, K shorter than a team, a single column.
  cases.push_back(gemv(1, 2, 1, 1, true, 0, false, false));
  cases.push_back(gemv(5, 8, 9, 5, true, 4, true, true));
  cases.push_back(gemv(7, 8, 65, 3, false, 3, true, false));
  cases.push_back(gemv(2, 2, 1000, 769, true, 1, false, true));
  cases.push_back(gemv(8, 8, 63, 1031, false, 0, false, false));
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Gemv, KernelParity, ::testing::ValuesIn(gemvCases()), caseName);

// The cases above exercise the GEMV kernel only if their bounds select it.
TEST(GemvSelection, BoundsOfEightOrFewerRowsPickTheGemvKernel) {
  for (const KernelCase& c : gemvCases()) {
    codegen::gpu::DispatchShape shape{c.kind, codegen::gpu::operandElements(c.kind, 3 + c.ints[2] + c.ints[3], c.ints),
                                      3, c.ints, 0, c.dim_bounds};
    EXPECT_EQ(codegen::gpu::planKernel(shape, {}).name.rfind("gemv_m", 0), 0u) << c.label;
  }
  codegen::gpu::DispatchShape tall{KernelKind::Gemm, codegen::gpu::operandElements(KernelKind::Gemm, 3, {1, 0, 0, 0}),
                                   3, {1, 0, 0, 0}, 0, {9, 768, 768}};
  EXPECT_EQ(codegen::gpu::planKernel(tall, {}).name.rfind("gemm_64x64", 0), 0u);
  tall.dim_bounds.clear();  // unknown bounds: the general kernel
  EXPECT_EQ(codegen::gpu::planKernel(tall, {}).name.rfind("gemm_64x64", 0), 0u);
}

}  // namespace
}  // namespace lathe::test
